package periphboard

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"periph.io/x/conn/v3/i2c/i2ctest"
)

// Fixture is recorded I2C traffic of one device, as `roomkiosk hwprobe
// --record DIR` saves it and the unit tests replay it with i2ctest.Playback.
// Bytes are hex so a fixture can be read and reviewed.
type Fixture struct {
	Device string      `json:"device"`         // "bme280", "bh1750"
	Note   string      `json:"note,omitempty"` // where and when it was recorded, what it read
	Ops    []FixtureIO `json:"ops"`
}

// FixtureIO is one transaction: write W, then read len(R) bytes.
type FixtureIO struct {
	Addr uint16 `json:"addr"`
	W    string `json:"w,omitempty"`
	R    string `json:"r,omitempty"`
}

// NewFixture converts recorded traffic.
func NewFixture(device, note string, ops []i2ctest.IO) Fixture {
	f := Fixture{Device: device, Note: note}
	for _, op := range ops {
		f.Ops = append(f.Ops, FixtureIO{Addr: op.Addr, W: hex.EncodeToString(op.W), R: hex.EncodeToString(op.R)})
	}
	return f
}

// IO converts the fixture back to i2ctest transactions.
func (f Fixture) IO() ([]i2ctest.IO, error) {
	out := make([]i2ctest.IO, 0, len(f.Ops))
	for i, op := range f.Ops {
		w, err := hex.DecodeString(op.W)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: ops[%d].w: %w", f.Device, i, err)
		}
		r, err := hex.DecodeString(op.R)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: ops[%d].r: %w", f.Device, i, err)
		}
		if len(w) == 0 {
			w = nil
		}
		if len(r) == 0 {
			r = nil
		}
		out = append(out, i2ctest.IO{Addr: op.Addr, W: w, R: r})
	}
	return out, nil
}

// Save writes the fixture as indented JSON.
func (f Fixture) Save(path string) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save fixture %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("save fixture: %w", err)
	}
	return nil
}

// LoadFixture reads a fixture file.
func LoadFixture(path string) (Fixture, error) {
	var f Fixture
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("load fixture: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("load fixture %s: %w", path, err)
	}
	return f, nil
}
