// Command report turns the figures that `make bench` collected (one JSON file
// per figure, written by testenv.Report) into bench/REPORT.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"roomkiosk/internal/testenv"
)

func main() {
	in := flag.String("in", "bench/figures", "folder of figure JSON files")
	out := flag.String("out", "bench/REPORT.md", "report to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bench report: %v\n", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	files, err := filepath.Glob(filepath.Join(in, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no figures in %s: did the benchmarks run?", in)
	}
	var figs []testenv.Figure
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var fig testenv.Figure
		if err := json.Unmarshal(b, &fig); err != nil {
			return fmt.Errorf("read figure %s: %w", f, err)
		}
		figs = append(figs, fig)
	}
	sort.Slice(figs, func(i, j int) bool { return figs[i].Name < figs[j].Name })

	var b strings.Builder
	fmt.Fprintf(&b, "# roomkiosk benchmark report\n\n")
	fmt.Fprintf(&b, "- report made: %s (each figure says when it was measured)\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- machine: %s, %d cores, %s, %s/%s, %s\n\n", cpuModel(), runtime.NumCPU(), memTotal(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	fmt.Fprintf(&b, "Each figure is measured against its baseline in the same run (`make bench`); the machine is shared, so read ratios, not absolute times. The figures are kept in bench/figures; a partial `make bench` re-measures some and keeps the others with their dates.\n\n")
	fmt.Fprintf(&b, "| figure | value | baseline | baseline value | ratio | target | met | measured | note |\n")
	fmt.Fprintf(&b, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	met := 0
	for _, f := range figs {
		ratio, base := "", ""
		if f.Baseline != "" {
			ratio = fmt.Sprintf("%.3f", f.Ratio)
			base = fmt.Sprintf("%.4g %s", f.BaseVal, f.Unit)
		}
		yes := "no"
		if f.Met {
			yes = "yes"
			met++
		}
		measured, _, _ := strings.Cut(f.At, "T")
		fmt.Fprintf(&b, "| %s | %.4g %s | %s | %s | %s | %s | %s | %s | %s |\n", f.Name, f.Value, f.Unit, f.Baseline, base, ratio, f.Target, yes, measured, strings.ReplaceAll(f.Note, "|", "/"))
	}
	fmt.Fprintf(&b, "\n%d of %d figures meet their target.\n", met, len(figs))
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return nil
}

func cpuModel() string {
	return procField("/proc/cpuinfo", "model name")
}

func memTotal() string {
	return procField("/proc/meminfo", "MemTotal") + " RAM"
}

func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
