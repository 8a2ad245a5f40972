// Package images holds the appliance recipe (systemd units, Debian package,
// SD-card image, boot test); it has no Go code. These tests keep the recipe
// and the rest of the project from drifting apart cheaply on every `go test`:
// the units keep their hardening and devices, the configs put their files
// where the units let the daemon write, and the image's apt sources are taken
// from the build host's configuration. The image build and boot themselves are
// `make image` and `make image-test` (minutes, root): see README.md.
package images

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"roomkiosk/cmd/roomkiosk/config"
	"roomkiosk/internal/testenv"
)

// unit is a systemd unit file: section -> key -> values (a key may repeat).
type unit map[string]map[string][]string

func readUnit(t *testing.T, name string) unit {
	t.Helper()
	f, err := os.Open(filepath.Join("systemd", name))
	if err != nil {
		t.Fatalf("open unit: %v", err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not key=value in a section: %q", name, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read unit %s: %v", name, err)
	}
	return u
}

func TestUnits(t *testing.T) {
	tests := []struct {
		unit    string
		section string
		key     string
		want    []string // every one of these values must be set
	}{
		{"roomkiosk.service", "Service", "Type", []string{"notify"}},
		{"roomkiosk.service", "Service", "User", []string{"roomkiosk"}},
		{"roomkiosk.service", "Service", "SupplementaryGroups", []string{"audio gpio i2c video roomkiosk-screen"}},
		{"roomkiosk.service", "Service", "Restart", []string{"on-failure"}},
		{"roomkiosk.service", "Service", "WatchdogSec", []string{"30s"}},
		{"roomkiosk.service", "Service", "StateDirectory", []string{"roomkiosk"}},
		{"roomkiosk.service", "Service", "RuntimeDirectory", []string{"roomkiosk"}},
		{"roomkiosk.service", "Service", "ProtectSystem", []string{"strict"}},
		{"roomkiosk.service", "Service", "ReadWritePaths", []string{"/var/lib/roomkiosk", "-/sys/devices/platform"}}, // the backlight
		{"roomkiosk.service", "Service", "PrivateTmp", []string{"yes"}},
		{"roomkiosk.service", "Service", "NoNewPrivileges", []string{"yes"}},
		{"roomkiosk.service", "Service", "ProtectHome", []string{"yes"}},
		{"roomkiosk.service", "Service", "DevicePolicy", []string{"closed"}},
		{"roomkiosk.service", "Service", "DeviceAllow", []string{"char-alsa rw", "char-gpiochip rw", "char-i2c rw"}},
		{"roomkiosk.service", "Install", "WantedBy", []string{"multi-user.target"}},
		{"roomkiosk-screen.service", "Service", "User", []string{"roomkiosk-screen"}},
		{"roomkiosk-screen.service", "Service", "Group", []string{"roomkiosk-screen"}},
		{"roomkiosk-screen.service", "Service", "Restart", []string{"always"}},
		{"roomkiosk-screen.service", "Service", "ExecStart", []string{"/usr/lib/roomkiosk/screen-session"}},
		{"roomkiosk-screen.service", "Service", "NoNewPrivileges", []string{"yes"}},
		{"roomkiosk-screen.service", "Unit", "Wants", []string{"roomkiosk.service"}},
		{"roomkiosk-screen.service", "Install", "WantedBy", []string{"multi-user.target"}},
		{"roomkiosk-import-config.service", "Unit", "Before", []string{"roomkiosk.service roomkiosk-screen.service"}},
		{"roomkiosk-import-config.service", "Unit", "RequiresMountsFor", []string{"/boot/firmware /etc/roomkiosk"}},
		{"roomkiosk-import-config.service", "Service", "ExecStart", []string{"/usr/lib/roomkiosk/import-config /boot/firmware /etc/roomkiosk"}},
	}
	units := map[string]unit{}
	for _, tt := range tests {
		t.Run(tt.unit+"/"+tt.key, func(t *testing.T) {
			u, ok := units[tt.unit]
			if !ok {
				u = readUnit(t, tt.unit)
				units[tt.unit] = u
			}
			got := u[tt.section][tt.key]
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s [%s] %s = %q, want it to include %q", tt.unit, tt.section, tt.key, got, w)
				}
			}
		})
	}
	// Requires= would stop the screen whenever the daemon restarts, and
	// BindsTo= the other way round: recording must not depend on the screen.
	for _, k := range []string{"Requires", "BindsTo", "PartOf"} {
		if v := readUnit(t, "roomkiosk-screen.service")["Unit"][k]; len(v) > 0 {
			t.Errorf("roomkiosk-screen.service has %s=%q: the screen must come and go on its own", k, v)
		}
		if v := readUnit(t, "roomkiosk.service")["Unit"][k]; len(v) > 0 {
			t.Errorf("roomkiosk.service has %s=%q: the daemon must not depend on anything that can die", k, v)
		}
	}
}

// deviceConfig is the part of a device config the units care about.
type deviceConfig struct {
	Control struct {
		Socket string `toml:"socket"`
		Group  string `toml:"group"`
	} `toml:"control"`
	Recording struct {
		SpoolDir string `toml:"spool_dir"`
	} `toml:"recording"`
	Checks struct {
		LogDir string `toml:"log_dir"`
	} `toml:"checks"`
	Storage struct {
		CredentialsFile string `toml:"credentials_file"`
	} `toml:"storage"`
	Hardware struct {
		Sim struct {
			StateFile string `toml:"state_file"`
		} `toml:"sim"`
	} `toml:"hardware"`
	Status struct {
		Listen string `toml:"listen"`
	} `toml:"status"`
}

// TestDeviceConfigsFitTheUnits checks the example config for a Pi and the
// boot-test config against the daemon's sandbox: everything it writes is under
// its state folder (ProtectSystem=strict makes the rest read-only), its socket
// is in its runtime folder, and the socket's group is the screen's.
func TestDeviceConfigsFitTheUnits(t *testing.T) {
	root := testenv.ModuleRoot(t)
	for _, path := range []string{
		filepath.Join(root, "configs", "example.toml"),
		filepath.Join("test", "roomkiosk.toml"),
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var c deviceConfig
			if _, err := toml.DecodeFile(path, &c); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			if c.Control.Socket != "/run/roomkiosk/control.sock" {
				t.Errorf("control.socket = %q, want /run/roomkiosk/control.sock (RuntimeDirectory=roomkiosk)", c.Control.Socket)
			}
			if c.Control.Group != "roomkiosk-screen" {
				t.Errorf("control.group = %q, want roomkiosk-screen (the screen's user is in it)", c.Control.Group)
			}
			for key, p := range map[string]string{
				"recording.spool_dir":     c.Recording.SpoolDir,
				"checks.log_dir":          c.Checks.LogDir,
				"hardware.sim.state_file": c.Hardware.Sim.StateFile,
			} {
				if p != "" && !strings.HasPrefix(p, "/var/lib/roomkiosk/") {
					t.Errorf("%s = %q: the daemon can write only under /var/lib/roomkiosk (ProtectSystem=strict)", key, p)
				}
			}
			if c.Storage.CredentialsFile != "/etc/roomkiosk/credentials.toml" {
				t.Errorf("storage.credentials_file = %q, want /etc/roomkiosk/credentials.toml (where import-config puts it)", c.Storage.CredentialsFile)
			}
		})
	}
}

// TestBootTestConfigLoads: the config the boot-test image drops on its boot
// partition must be one the daemon accepts, and the boot test's /healthz
// probe must use its status address.
func TestBootTestConfigLoads(t *testing.T) {
	c, err := config.Load(filepath.Join("test", "roomkiosk.toml"))
	if err != nil {
		t.Fatalf("the boot-test config is refused: %v", err)
	}
	if c.Hardware.Backend != "sim" {
		t.Errorf("hardware.backend = %q, want sim", c.Hardware.Backend)
	}
	script, err := os.ReadFile(filepath.Join("test", "boottest"))
	if err != nil {
		t.Fatal(err)
	}
	probe := "/dev/tcp/" + strings.Replace(c.Status.Listen, ":", "/", 1)
	if !strings.Contains(string(script), probe) {
		t.Errorf("test/boottest does not probe %s (status.listen = %q)", probe, c.Status.Listen)
	}
}

func TestAptSources(t *testing.T) {
	tests := []struct {
		name, suite, components, mirror string
		want                            []string
		wantErr                         bool
	}{
		{
			name: "list and deb822, third-party and disabled left out", suite: "trixie", components: "main non-free-firmware",
			want: []string{
				"deb http://mirror.example/debian trixie main non-free-firmware",
				"deb http://mirror.example/debian trixie-updates main non-free-firmware",
				"deb http://security.example/debian-security trixie-security main non-free-firmware",
			},
		},
		{
			name: "another suite of the same host", suite: "bookworm", components: "main",
			want: []string{"deb http://other.example/debian bookworm main"},
		},
		{
			name: "mirror override", suite: "trixie", components: "main", mirror: "http://local.example/debian",
			want: []string{
				"deb http://local.example/debian trixie main",
				"deb http://mirror.example/debian trixie-updates main",
				"deb http://security.example/debian-security trixie-security main",
			},
		},
		{name: "suite the host lacks", suite: "sid", components: "main", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", filepath.Join("scripts", "apt-sources.sh"), tt.suite, tt.components)
			cmd.Env = append(os.Environ(), "APT_ETC="+filepath.Join("testdata", "apt"), "IMAGE_MIRROR="+tt.mirror)
			out, err := cmd.Output()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %q", out)
				}
				return
			}
			if err != nil {
				t.Fatalf("apt-sources.sh: %v", err)
			}
			got := strings.Split(strings.TrimSpace(string(out)), "\n")
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("sources:\n got %q\nwant %q", got, want)
			}
		})
	}
}
