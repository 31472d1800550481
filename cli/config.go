package cli

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/jobspec"
)

func (m *Main) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "@config",
		Aliases: []string{"config"},
		Short:   "View, check and edit the workspace's jobs",
		Long: `@config alone opens the workspace's job file in $EDITOR (default nano, else
vi) and saves it on the server when you save and quit. A file the server
refuses opens again with the reasons on top; quit without saving to give
up. The subcommands list, show, apply and delete work on the same file
without an editor; check validates a local file offline. Every save is
kept as a version: history lists them, diff compares two, rollback makes an
older one current again.

Job files are YAML maps from a job name to its fields.

  myjob: ls -lah                 # short form: the string is the script
  backup:
    description: Nightly backup
    script: |
      tar czf /tmp/home.tgz ~
    where: custom                # local (default), all, any or custom
    whereCustom: [pi-1, pi-2]
    every: every day at 02:00    # cron, 30s/15m/6h/1d, or a phrase
    catchup: none                # after downtime: one missed run (default) or none
    showDuration: true`,
		Example: `  runlet @config
  EDITOR=vim runlet @config
  runlet @config list
  runlet @config apply -f jobs.yaml
  runlet @config history
  runlet @config diff 3 5
  runlet @config rollback 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.editJobs(cmd.Context())
		},
	}
	cmd.AddCommand(m.configCheckCommand(), m.configListCommand(), m.configShowCommand(),
		m.configApplyCommand(), m.configDeleteCommand(),
		m.configHistoryCommand(), m.configDiffCommand(), m.configRollbackCommand())
	return cmd
}

func (m *Main) configCheckCommand() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "check -f FILE",
		Short: "Validate a job file and list the jobs in it",
		Long: `check parses a job file and prints the jobs it defines, or every error
found, each with its file, line and field. It exits 1 when the file has errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := readJobFile(file)
			if err != nil {
				var errs jobspec.Errors
				if errors.As(err, &errs) {
					for _, e := range errs {
						fmt.Fprintln(m.Stderr, safe(e.Error()))
					}
					fmt.Fprintf(m.Stderr, "%s: %d error(s)\n", file, len(errs))
					return &exitError{code: 1}
				}
				return err
			}
			m.printWarnings(file, f.Warnings)
			m.printJobs(f)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "job file to check (required)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (m *Main) printJobs(f *jobspec.File) {
	if len(f.Jobs) == 0 {
		fmt.Fprintln(m.Stdout, "No jobs in this file.")
		return
	}
	m.jobTable(f.Jobs)
	fmt.Fprintf(m.Stdout, "%d job(s) OK\n", len(f.Jobs))
}

// jobTable prints one line per job.
func (m *Main) jobTable(jobs []*jobspec.Job) {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tWHERE\tEVERY\tDESCRIPTION")
	for _, j := range jobs {
		// Any member may have written the job: its text is escaped.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", safe(j.Name), safe(whereText(j)), dash(j.Every), safe(j.Description))
	}
	tw.Flush()
}

// readJobFile reads and parses a job file; "-" is standard input.
func readJobFile(path string) (*jobspec.File, error) {
	if path == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "no job file: give one with -f FILE")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "read job file: %v", err)
	}
	return jobspec.Parse(path, src)
}
