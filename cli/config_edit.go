package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/jobspec"
)

// headerMark starts the lines runlet puts on top of the file in the editor
// to say what was wrong; they are removed before the file is sent.
const headerMark = "# runlet: "

// starterJobs is what the editor shows for a workspace without jobs.
const starterJobs = `# The workspace's jobs: a map from a job name to its fields.
# Save this file to apply it; see 'runlet @config --help'.
#
# hello: echo "hello from $(hostname)"
# backup:
#   description: Nightly backup
#   script: tar czf /tmp/home.tgz ~
#   where: all
#   every: every day at 02:00
`

// editJobs opens the workspace's job file in the person's editor and saves
// it on the server once it is valid, opening the editor again with the
// server's complaints on top while it is not.
func (m *Main) editJobs(ctx context.Context) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	// nano and vi need a terminal; an $EDITOR of the person's choosing
	// (a GUI editor with --wait, a script) may not.
	if m.getenv("EDITOR") == "" && openTerminal(m.Stdin, nil).in == nil {
		return runlet.Errorf(runlet.EINVALID, "'runlet @config' opens an editor, and there is no terminal here: use 'runlet @config apply -f FILE' (or -f - for standard input), or set EDITOR to an editor that needs none")
	}
	jobs, err := client.Jobs(ctx)
	if err != nil {
		return err
	}
	original := jobs.Source
	if original == "" {
		original = starterJobs
	}
	f, err := os.CreateTemp("", "runlet-jobs-*.yaml")
	if err != nil {
		return fmt.Errorf("create a file to edit: %w", err)
	}
	path := f.Name()
	_, werr := f.WriteString(original)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	saved, err := m.editLoop(ctx, client, path, original, jobs.Version)
	if err != nil {
		// Keep what the person typed: the message says where it is.
		return err
	}
	os.Remove(path)
	if saved != nil {
		fmt.Fprintf(m.Stdout, "Saved %d job(s) (version %d).\n", len(saved.Jobs), saved.Version)
		for _, w := range saved.Warnings {
			m.printWarnings(w.File, jobspec.Errors{&w})
		}
	}
	return nil
}

// editLoop runs the editor on path until the server takes the file, the
// person leaves it unchanged, or gives up. It returns nil jobs for "no
// changes".
func (m *Main) editLoop(ctx context.Context, client *apiclient.Client, path, original string, version int64) (*api.Jobs, error) {
	var refused string // the last text the server refused
	for {
		if err := m.runEditor(ctx, path); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read back %s: %w", path, err)
		}
		text := stripHeader(string(b))
		switch {
		case text == original:
			fmt.Fprintln(m.Stdout, "No changes.")
			return nil, nil
		case strings.TrimSpace(text) == "":
			return nil, runlet.Errorf(runlet.EINVALID, "the file is empty: nothing saved (to remove every job, save it holding just {}, an empty map)")
		case text == refused:
			return nil, runlet.Errorf(runlet.EINVALID, "not saved: the file still has the errors listed at its top; your edits are in %s", path)
		}
		jobs, err := client.PutJobs(ctx, []byte(text), version)
		var re *apiclient.RemovalError
		if errors.As(err, &re) {
			if !m.askRemoval("The edited file", re.Jobs) {
				return nil, runlet.Errorf(runlet.ECONFLICT, "nothing saved: the edited file does not define %s; to delete them, run 'runlet @config apply -f %s --prune' (your edits are in %s)",
					safe(strings.Join(re.Jobs, ", ")), path, path)
			}
			jobs, err = client.PutJobsPrune(ctx, []byte(text), version) // the version the person saw
		}
		var ve *apiclient.ValidationError
		switch {
		case err == nil:
			return jobs, nil
		case errors.As(err, &ve):
			refused = text
			fmt.Fprintf(m.Stderr, "runlet: the server refused the file: %s\n", safe(firstLine(ve.Error())))
			if err := os.WriteFile(path, []byte(errorHeader(ve)+text), 0o600); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		case runlet.ErrorCode(err) == runlet.ECONFLICT:
			return nil, runlet.Errorf(runlet.ECONFLICT, "someone changed the jobs while you edited them: nothing saved; your edits are in %s (merge them with 'runlet @config', or replace the jobs with 'runlet @config apply -f %s')", path, path)
		default:
			return nil, runlet.Errorf(runlet.ErrorCode(err), "%s (your edits are in %s)", message(err), path)
		}
	}
}

// errorHeader lists the server's complaints as comment lines, their line
// numbers shifted so that they point at the lines as the editor shows them.
func errorHeader(ve *apiclient.ValidationError) string {
	problems := strings.Split(ve.Error(), "\n")
	if len(ve.Details) > 0 {
		problems = problems[:0]
		shift := len(ve.Details) + 2 // the header's own lines
		for _, e := range ve.Details {
			var b strings.Builder
			if e.Line > 0 {
				fmt.Fprintf(&b, "line %d: ", e.Line+shift)
			}
			if e.Job != "" {
				fmt.Fprintf(&b, "job %q: ", e.Job)
			}
			if e.Field != "" {
				fmt.Fprintf(&b, "field %q: ", e.Field)
			}
			b.WriteString(e.Msg)
			problems = append(problems, b.String())
		}
	}
	var h strings.Builder
	h.WriteString(headerMark + "the server refused this file; fix it and save, or quit without saving to give up:\n")
	for _, p := range problems {
		h.WriteString(headerMark + "  " + safe(strings.ReplaceAll(p, "\n", " ")) + "\n")
	}
	h.WriteString(headerMark + "(these lines are removed before saving)\n")
	return h.String()
}

// stripHeader removes the complaint lines errorHeader put on top.
func stripHeader(s string) string {
	for strings.HasPrefix(s, headerMark) {
		_, rest, found := strings.Cut(s, "\n")
		if !found {
			return ""
		}
		s = rest
	}
	return s
}

// runEditor opens path in $EDITOR (default nano, else vi) on this terminal.
func (m *Main) runEditor(ctx context.Context, path string) error {
	argv := strings.Fields(m.getenv("EDITOR"))
	if len(argv) == 0 {
		for _, e := range []string{"nano", "vi"} {
			if p, err := exec.LookPath(e); err == nil {
				argv = []string{p}
				break
			}
		}
	}
	if len(argv) == 0 {
		return runlet.Errorf(runlet.EINVALID, "no editor found: set EDITOR (nano and vi are not installed), or use 'runlet @config apply -f FILE'")
	}
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = m.Stdin, m.Stdout, m.Stderr
	if err := cmd.Run(); err != nil {
		return runlet.Errorf(runlet.EINVALID, "the editor %s failed: %v (your edits are in %s)", argv[0], err, path)
	}
	return nil
}
