// Package benchkit is what the programs under bench/ share: a real Runlet
// server with devices signed in to it (fleet.go), latency statistics, and
// the results table or JSON every program prints (report.go).
package benchkit

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Sample is a set of measured durations.
type Sample []time.Duration

// Quantile is the q-quantile (0 ≤ q ≤ 1) of s by the nearest-rank method;
// 0 for an empty sample.
func (s Sample) Quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Mean is the arithmetic mean of s.
func (s Sample) Mean() time.Duration {
	if len(s) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return sum / time.Duration(len(s))
}

// Result is one measured number.
type Result struct {
	Bench  string  `json:"bench"`            // "keystroke echo"
	Case   string  `json:"case"`             // "embedded NATS, 1 session"
	Metric string  `json:"metric"`           // "p50"
	Value  float64 `json:"value"`            // in Unit
	Unit   string  `json:"unit"`             // "ms", "MB/s", "MB"
	Target string  `json:"target,omitempty"` // "≤ 1 ms"
	// Met says whether Value meets Target; nil when there is no target.
	Met  *bool  `json:"met,omitempty"`
	Note string `json:"note,omitempty"`
}

// Machine describes where a report was made.
type Machine struct {
	CPUs    int     `json:"cpus"`
	CPU     string  `json:"cpu"`
	Kernel  string  `json:"kernel"`
	Go      string  `json:"go"`
	LoadAvg string  `json:"loadavg"` // at the start of the run
	MemGiB  float64 `json:"memGiB"`
}

// Report is what a bench program prints.
type Report struct {
	Command string    `json:"command"`
	Date    time.Time `json:"date"`
	Machine Machine   `json:"machine"`
	Results []Result  `json:"results"`
	Notes   []string  `json:"notes,omitempty"`
}

// NewReport starts a report of program (its path in the module,
// "bench/echo") run with this process's arguments, on this machine.
func NewReport(program string) *Report {
	return &Report{
		Command: strings.TrimSpace("go run ./" + program + " " + strings.Join(os.Args[1:], " ")),
		Date:    time.Now().UTC(),
		Machine: ThisMachine(),
	}
}

// Add records a result. want, when not nil, decides Met.
func (r *Report) Add(res Result, want func(v float64) bool) {
	if want != nil {
		met := want(res.Value)
		res.Met = &met
	}
	r.Results = append(r.Results, res)
}

// AddLatency records the p50, p99 and p99.9 of s in milliseconds.
func (r *Report) AddLatency(bench, cas string, s Sample, targets map[string]time.Duration) {
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999}} {
		res := Result{Bench: bench, Case: cas, Metric: q.name, Value: Millis(s.Quantile(q.q)), Unit: "ms",
			Note: fmt.Sprintf("n=%d", len(s))}
		var want func(float64) bool
		if t, ok := targets[q.name]; ok {
			res.Target = "≤ " + fmtNum(Millis(t)) + " ms"
			want = func(v float64) bool { return v <= Millis(t) }
		}
		r.Add(res, want)
	}
}

// Note adds a line printed under the table.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Millis is d in milliseconds.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Print writes r as a table, or as JSON when asJSON.
func (r *Report) Print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	m := r.Machine
	fmt.Fprintf(w, "%s\n%s, %d CPUs (%s), %.0f GiB, Linux %s, %s, load %s\n\n",
		r.Command, r.Date.Format(time.RFC3339), m.CPUs, m.CPU, m.MemGiB, m.Kernel, m.Go, m.LoadAvg)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "bench\tcase\tmetric\tvalue\ttarget\tmet\tnote")
	for _, res := range r.Results {
		met := ""
		if res.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*res.Met]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", res.Bench, res.Case, res.Metric, fmtNum(res.Value), res.Unit, res.Target, met, res.Note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	return nil
}

// fmtNum prints v with three significant digits, or as an integer when large.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// JSONFlag registers the --json flag every bench program has.
func JSONFlag() *bool {
	return flag.Bool("json", false, "print the results as JSON instead of a table")
}

// ThisMachine reads what the report says about the machine.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %f kB", &kb); err == nil {
			m.MemGiB = kb / (1 << 20)
		}
	}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	return m
}
