package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the table for a terminal.
func WriteText(w io.Writer, tb *Table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "row\twhat\tfigure\n")
	for _, r := range tb.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.What, r.Figure)
	}
	return tw.Flush()
}

// WriteMarkdown writes BENCHMARKS.md: the machine, the date, and each figure with its command.
func WriteMarkdown(w io.Writer, tb *Table, command string) error {
	m := tb.Machine
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `%s` on %s (%s). Do not edit by hand: run it again.\n\n", command, tb.Started.Format("2006-01-02 15:04 MST"), tb.Duration)
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n")
	fmt.Fprintf(&b, "| CPU | %s |\n| cores | %d |\n| RAM | %s |\n| load average (1, 5, 15 min) before / after | %s / %s |\n| kernel, Go | %s, %s |\n\n",
		m.CPU, m.Cores, m.RAM, m.LoadBefore, m.LoadAfter, m.Kernel, m.Go)
	b.WriteString(`The connector is ` + "`xero-kafka run`" + `, built and run as its own process and configured by
environment variables, against a simulator process (package ` + "`xerosim`" + `, served by the harness's
` + "`sim`" + ` helper with the options of ` + "`cmd/xerosim`" + ` and a counter of API calls). "Real broker" is Apache
Kafka 4.4 and Apicurio Registry 3.3 started by ` + "`scripts/services.sh`" + `; "kfake" is franz-go's fake broker
and srfake in a helper process of their own. CPU is utime + stime of the connector from
` + "`/proc/PID/stat`" + `, peak RSS its VmHWM; records are the ones ` + "`/status`" + ` reports written.

| row | what | figure | command |
|---|---|---|---|
`)
	for _, r := range tb.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | `%s` |\n", r.ID, esc(r.What), esc(r.Figure), r.Command)
	}
	b.WriteString(`
## What the figures mean

- **records/s** counts from the simulator's first API call to the end of the cycle that caught
  up the last stream, the time ` + "`/status`" + ` gives for it (` + "`last_success`" + `); **CPU s per 100k**
  is the connector's whole CPU from its start to when ` + "`/status`" + ` (polled every 100 ms) says
  so, start-up included, per 100,000 records. **first call** is the time from
  the process start to its first Xero API call (topics, subjects and the state topic come first).
  Before these rows, the real broker takes rounds of untimed syncs of as many invoices and
  journals (at least ten, at most twenty, until one in which its JIT compiler threads took at
  most a quarter of its CPU in each sync; the rows say how many), kfake one: a Kafka broker just started spends its first minutes compiling its own
  code, which one in service has done. What its JIT compiler threads still spend during a row
  is shown apart ("of which JIT compiling"). **transactions** is the connector's count of
  Kafka transactions committed. Each row is then measured five times, the real broker's and kfake's runs alternating,
  and reports its median run (by records/s) and the range; the ratio is of the medians. The
  simulator of these rows renders its records once, before the connector starts
  (` + "`xerosim.Prerendered`" + `), since their data do not change: the cores the connector is measured on
  are not spent on work that Xero does on its own servers. The real broker has the heap of
  Kafka's own start script, 1 GB (` + "`scripts/bench.sh`" + `).
- **latency** is from an edit in the simulator (at a random point of the poll cycle) to the
  moment the changed record is readable with ` + "`read_committed`" + `.
- **bulk import** creates the records at one instant, all with one ` + "`UpdatedDateUTC`" + `, while the
  connector is caught up; the state figure is the key, value and header bytes of the records
  written to the state topic meanwhile, before compression. The row measures two sizes and the growth of the CPU per
  record between them.
- **organisations** run with the simulator's rate limits (60 calls a minute and 5 at once per
  organisation, 10,000 a minute for the app) and the default poll plan; the restart reuses the
  state topic and the token chain stored there.
- **peer** runs tap-xero's sync (its discovery beforehand is not counted) through a local proxy
  that answers for api.xero.com and identity.xero.com with the simulator, since tap-xero has no
  setting for another host; wall time is process start to exit for tap-xero and process start to
  caught up for xero-kafka.
`)
	_, err := io.WriteString(w, b.String())
	return err
}

func esc(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
