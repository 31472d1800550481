package cli

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/jobspec"
)

// The history of the workspace's job file: every save is a version, which
// history lists and prints, diff compares and rollback restores.

func (m *Main) configHistoryCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history [VERSION]",
		Short: "List the saved versions of the workspace's job file, or print one",
		Long: `history lists the versions of the workspace's job file, newest first: each
save (apply, the editor, the web UI, delete, rollback) makes one, with when it
was saved, by whom and how many jobs it has. The server keeps the last 100.

With a VERSION, history prints that version's file. Compare two versions with
'runlet @config diff', and make an older one current again with
'runlet @config rollback'.`,
		Example: `  runlet @config history
  runlet @config history 3
  runlet @config history 3 > jobs-v3.yaml
  runlet @config history --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				v, err := parseVersion(args[0])
				if err != nil {
					return err
				}
				jv, err := client.JobVersion(cmd.Context(), v)
				if err != nil {
					return err
				}
				if asJSON {
					return m.printJSON(jv)
				}
				fmt.Fprint(m.Stdout, runlet.SafeLines(jv.Source))
				return nil
			}
			h, err := client.JobVersions(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return m.printJSON(h)
			}
			m.historyTable(h.Versions, h.Kept)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the history (or the version) as JSON")
	return cmd
}

func (m *Main) historyTable(vs []runlet.JobVersion, kept int) {
	if len(vs) == 0 {
		fmt.Fprintln(m.Stdout, "The workspace's job file has no versions yet; save one with 'runlet @config'.")
		return
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSAVED\tBY\tJOBS\tNOTE")
	for i, v := range vs {
		jobs := strconv.Itoa(v.Jobs)
		if v.Jobs < 0 {
			jobs = "?"
		}
		note := safe(v.Note)
		if i == 0 {
			note = strings.TrimPrefix(note+"; current", "; ")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", v.Version, v.Saved.Local().Format("2006-01-02 15:04:05"), dash(v.By), jobs, note)
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "The server keeps the last %d versions. Compare two with 'runlet @config diff V1 V2'; make one current again with 'runlet @config rollback V'.\n", kept)
}

func (m *Main) configDiffCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diff V1 [V2]",
		Short: "Show what changed in the job file between two versions",
		Long: `diff prints a unified diff (as diff -u) of the workspace's job file from
version V1 to version V2, or to the current version when V2 is left out. The
versions are those of 'runlet @config history'.`,
		Example: `  runlet @config diff 3 5
  runlet @config diff 3        # from version 3 to the current one`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			return m.diffVersions(cmd.Context(), client, args)
		},
	}
	return cmd
}

func (m *Main) diffVersions(ctx context.Context, client *apiclient.Client, args []string) error {
	from, err := parseVersion(args[0])
	if err != nil {
		return err
	}
	a, err := client.JobVersion(ctx, from)
	if err != nil {
		return err
	}
	bName, bSource := "", ""
	if len(args) == 2 {
		to, err := parseVersion(args[1])
		if err != nil {
			return err
		}
		b, err := client.JobVersion(ctx, to)
		if err != nil {
			return err
		}
		bName, bSource = fmt.Sprintf("version %d", to), b.Source
	} else {
		cur, err := client.Jobs(ctx)
		if err != nil {
			return err
		}
		bName, bSource = fmt.Sprintf("version %d (current)", cur.Version), cur.Source
	}
	d := unifiedDiff(fmt.Sprintf("version %d", from), bName, a.Source, bSource)
	if d == "" {
		fmt.Fprintf(m.Stderr, "No differences between version %d and %s.\n", from, bName)
		return nil
	}
	fmt.Fprint(m.Stdout, runlet.SafeLines(d))
	return nil
}

func (m *Main) configRollbackCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rollback VERSION",
		Short: "Make an older version of the job file current again",
		Long: `rollback saves the job file of VERSION (see 'runlet @config history') as a new
version: the jobs it has come back as they were, and the jobs added since are
removed. Nothing is lost: the version it replaces stays in the history, so a
rollback is undone with another one.`,
		Example: `  runlet @config history
  runlet @config diff 3
  runlet @config rollback 3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := parseVersion(args[0])
			if err != nil {
				return err
			}
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			before, err := client.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			after, err := client.RollbackJobs(cmd.Context(), v, before.Version)
			if err != nil {
				return err
			}
			if asJSON {
				return m.printJSON(after)
			}
			fmt.Fprintf(m.Stdout, "Rolled back to version %d: saved as version %d with %d job(s).\n", v, after.Version, len(after.Jobs))
			if gone := missingJobs(before.Jobs, after.Jobs); len(gone) > 0 {
				fmt.Fprintf(m.Stdout, "Removed: %s.\n", safe(strings.Join(gone, ", ")))
			}
			if back := missingJobs(after.Jobs, before.Jobs); len(back) > 0 {
				fmt.Fprintf(m.Stdout, "Restored: %s.\n", safe(strings.Join(back, ", ")))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the saved jobs as JSON")
	return cmd
}

// parseVersion reads a version number of the job file.
func parseVersion(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "%q is not a version: give a number from 'runlet @config history'", s)
	}
	return v, nil
}

// missingJobs returns the names of the jobs of from that to lacks, in
// from's order.
func missingJobs(from, to []*jobspec.Job) []string {
	f := &jobspec.File{Jobs: to}
	var names []string
	for _, j := range from {
		if f.Job(j.Name) == nil {
			names = append(names, j.Name)
		}
	}
	return names
}

// askRemoval asks at the terminal whether to delete the jobs a new job file
// lacks; not at a terminal, or on anything but y, the answer is no.
func (m *Main) askRemoval(file string, jobs []string) bool {
	if openTerminal(m.Stdin, nil).in == nil {
		return false
	}
	fmt.Fprintf(m.Stderr, "%s does not define %d job(s) of the workspace: %s.\nDelete them? (the history keeps them; 'runlet @config rollback' brings them back) [y/N] ",
		file, len(jobs), safe(strings.Join(jobs, ", ")))
	line, _ := bufio.NewReader(m.Stdin).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// fileName is how messages name a job file given as -f FILE.
func fileName(file string) string {
	if file == "-" {
		return "the job file on standard input"
	}
	return file
}

// removalRefused is the error of a job file that would delete jobs without
// --prune.
func removalRefused(file string, jobs []string) error {
	return runlet.Errorf(runlet.ECONFLICT, "nothing saved: %s does not define %d job(s) of the workspace: %s. Add them to the file to keep them, or apply it with --prune to delete them",
		file, len(jobs), safe(strings.Join(jobs, ", ")))
}

// printWarnings prints what a job file has that is valid but probably a
// mistake (a field that lost its indentation).
func (m *Main) printWarnings(file string, ws jobspec.Errors) {
	for _, w := range ws {
		named := *w
		named.File = file
		fmt.Fprintln(m.Stderr, "warning: "+safe(named.Error()))
	}
}
