package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/jobspec"
)

func (m *Main) configListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the workspace's jobs",
		Long: `list prints the jobs of the workspace: name, where they run, their schedule,
when a scheduled job runs next and how its last scheduled run went (a run that
could not start says why below the table), and description. Times are local.`,
		Example: "  runlet @config list\n  runlet @config list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			jobs, err := client.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			scheds, err := schedules(cmd.Context(), client)
			if err != nil {
				return err
			}
			if asJSON {
				out, err := listJSON(nonNil(jobs.Jobs), scheds)
				if err != nil {
					return err
				}
				return m.printJSON(out)
			}
			if len(jobs.Jobs) == 0 {
				fmt.Fprintln(m.Stdout, "The workspace has no jobs yet; add some with 'runlet @config'.")
				return nil
			}
			m.scheduleTable(jobs.Jobs, scheds)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the jobs as JSON")
	return cmd
}

func (m *Main) configShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "show NAME",
		Short:   "Print one job as it is written in the workspace's job file",
		Long:    `show prints the YAML of the job NAME, as written in the workspace's job file.`,
		Example: "  runlet @config show backup\n  runlet @config show backup --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			jobs, err := client.Jobs(cmd.Context())
			if err != nil {
				return err
			}
			for _, j := range jobs.Jobs {
				if j.Name != args[0] {
					continue
				}
				if asJSON {
					return m.printJSON(j)
				}
				fmt.Fprint(m.Stdout, runlet.SafeLines(jobSource(jobs.Source, j)))
				return nil
			}
			return runlet.Errorf(runlet.ENOTFOUND, "the workspace has no job %q (it has: %s)", args[0], jobNames(&jobspec.File{Jobs: jobs.Jobs}))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job as JSON")
	return cmd
}

// jobSource is the text of job j in the YAML src: from its line to the
// next top-level key, without trailing blank or comment lines.
func jobSource(src string, j *jobspec.Job) string {
	lines := strings.Split(src, "\n")
	if j.Line < 1 || j.Line > len(lines) {
		return fmt.Sprintf("%s: %q\n", j.Name, j.Script)
	}
	end := j.Line
	for end < len(lines) {
		l := lines[end]
		if l != "" && l[0] != ' ' && l[0] != '\t' && l[0] != '#' {
			break
		}
		end++
	}
	for end > j.Line {
		l := strings.TrimSpace(lines[end-1])
		if l != "" && !strings.HasPrefix(l, "#") {
			break
		}
		end--
	}
	return strings.Join(lines[j.Line-1:end], "\n") + "\n"
}

func (m *Main) configApplyCommand() *cobra.Command {
	var (
		file   string
		prune  bool
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Replace the workspace's jobs with a job file",
		Long: `apply checks FILE and, when it is valid, makes it the workspace's job file.
Errors are printed with their file, line and field, and nothing changes.
"-f -" reads standard input.

A file that lacks jobs the workspace has would delete them: apply names them
and saves nothing, unless --prune says to delete them (at a terminal it asks
instead). Every save is kept in the history ('runlet @config history'), so
'runlet @config rollback' undoes one.`,
		Example: `  runlet @config apply -f jobs.yaml
  runlet @config apply -f jobs.yaml --prune    # also delete the jobs it lacks
  cat jobs.yaml | runlet @config apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.applyJobs(cmd.Context(), file, prune, asJSON)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "job file to apply (required; - for standard input)")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete the workspace's jobs that FILE does not define")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the saved jobs as JSON")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (m *Main) applyJobs(ctx context.Context, file string, prune, asJSON bool) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	var src []byte
	if file == "-" {
		src, err = io.ReadAll(io.LimitReader(m.Stdin, 8<<20))
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return runlet.Errorf(runlet.EINVALID, "read job file: %v", err)
	}
	// Check here first: the errors then name the file as the person knows it.
	f, err := jobspec.Parse(file, src)
	if err != nil {
		return m.jobErrors(file, err)
	}
	m.printWarnings(file, f.Warnings)
	cur, err := client.Jobs(ctx)
	if err != nil {
		return err
	}
	removed := missingJobs(cur.Jobs, f.Jobs)
	expect := apiclient.NoVersion
	if len(removed) > 0 && !prune {
		// Standard input is the file: there is no one to ask.
		if file == "-" || !m.askRemoval(file, removed) {
			return removalRefused(fileName(file), removed)
		}
		prune, expect = true, cur.Version // delete only what was shown
	}
	put := client.PutJobs
	if prune {
		put = client.PutJobsPrune
	}
	jobs, err := put(ctx, src, expect)
	var re *apiclient.RemovalError
	switch {
	case errors.As(err, &re): // jobs were added since they were read
		return removalRefused(fileName(file), re.Jobs)
	case runlet.ErrorCode(err) == runlet.ECONFLICT && expect != apiclient.NoVersion:
		return runlet.Errorf(runlet.ECONFLICT, "nothing saved: the workspace's jobs changed while you answered; run apply again")
	case err != nil:
		return m.jobErrors(file, err)
	}
	if asJSON {
		return m.printJSON(jobs)
	}
	fmt.Fprintf(m.Stdout, "Saved %d job(s) (version %d).\n", len(jobs.Jobs), jobs.Version)
	if gone := missingJobs(cur.Jobs, jobs.Jobs); len(gone) > 0 && cur.Version == jobs.Version-1 {
		fmt.Fprintf(m.Stdout, "Deleted %d job(s): %s (undo with 'runlet @config rollback %d').\n", len(gone), safe(strings.Join(gone, ", ")), cur.Version)
	}
	return nil
}

// jobErrors prints every problem of an invalid job file, local or from
// the server, and ends with exit code 1 as 'check' does.
func (m *Main) jobErrors(file string, err error) error {
	var (
		local jobspec.Errors
		ve    *apiclient.ValidationError
	)
	switch {
	case errors.As(err, &local):
		for _, e := range local {
			fmt.Fprintln(m.Stderr, safe(e.Error()))
		}
		fmt.Fprintf(m.Stderr, "%s: %d error(s); nothing saved\n", file, len(local))
	case errors.As(err, &ve):
		for _, e := range ve.Details {
			e.File = file
			fmt.Fprintln(m.Stderr, safe(e.Error()))
		}
		fmt.Fprintf(m.Stderr, "%s: the server refused it: %s\n", file, safe(firstLine(ve.Error())))
	default:
		return err
	}
	return &exitError{code: 1}
}

func (m *Main) configDeleteCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Short:   "Remove a job from the workspace's job file",
		Long:    `delete removes the job NAME (its whole entry) from the workspace's job file. Executions of it that are queued or running go on.`,
		Example: "  runlet @config delete old-backup",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			version, err := client.DeleteJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return m.printJSON(struct {
					Deleted string `json:"deleted"`
					Version int64  `json:"version"`
				}{args[0], version})
			}
			fmt.Fprintf(m.Stdout, "Deleted job %s (version %d).\n", args[0], version)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
