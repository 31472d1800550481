package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"filippo.io/age"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/atomicfile"
)

// The log passphrase (R-LOG-1): where runlet reads it, and how long a new
// one must be.
const (
	passphraseEnv    = "RUNLET_LOG_PASSPHRASE"
	newPassphraseEnv = "RUNLET_NEW_LOG_PASSPHRASE"
	minPassphrase    = 12
	maxPassphrase    = 4096
)

func (m *Main) keysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the workspace's log key, which encrypts every run's log",
		Long: `keys manages the workspace's log key (R-LOG-1). Devices encrypt every
run's log to it as they write it, so that the server and the object store
hold only ciphertext. The key is made here, on a person's machine: the
server keeps its public half and its private half sealed with the
workspace's log passphrase, which it never sees. Whoever knows the
passphrase reads the workspace's logs ('runlet logs'); nobody else can,
the server's operators included. A passphrase cannot be recovered: logs
encrypted to a key whose passphrase is lost stay unreadable.

The passphrase is typed at the terminal (without echo), or read from
--passphrase-file FILE ('-' for standard input) or the environment
variable RUNLET_LOG_PASSPHRASE. Making and rotating the key are an admin's
to do: runlet signs in as the admin named by --admin (env RUNLET_ADMIN)
with the password typed at the terminal, or from RUNLET_PASSWORD.

A workspace without a log key keeps its logs on its devices, unencrypted,
and uploads none.`,
		Example: `  runlet keys init --admin admin@example.com
  runlet keys list
  runlet keys unlock --save
  runlet keys rotate --admin admin@example.com
  runlet keys lock`,
	}
	cmd.AddCommand(m.keysInitCommand(), m.keysRotateCommand(), m.keysListCommand(), m.keysUnlockCommand(), m.keysLockCommand())
	return cmd
}

// passphraseFlags are the flags that give a passphrase without a
// terminal.
type passphraseFlags struct {
	file    string // the current passphrase
	newFile string // rotate: the new one
}

func (m *Main) keysInitCommand() *cobra.Command {
	var (
		pf    passphraseFlags
		admin string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make the workspace's log key (admins)",
		Long: `init makes the workspace's first log key on this machine, seals its
private half with the log passphrase you choose (at least 12 characters)
and gives the server the public half and the sealed private half. From
then on devices encrypt the logs of new runs to it.

Keep the passphrase safe and tell it to the members who must read logs:
it cannot be recovered, and without it no log can be read. To replace
the key (a member left, the passphrase leaked), use 'runlet keys rotate'.`,
		Example: `  runlet keys init --admin admin@example.com
  RUNLET_PASSWORD=... runlet keys init --admin admin@example.com --passphrase-file pass.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.keysInit(cmd.Context(), admin, pf)
		},
	}
	cmd.Flags().StringVar(&pf.file, "passphrase-file", "", "read the new log passphrase from this file ('-' for standard input; env "+passphraseEnv+")")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	return cmd
}

// keysInit is R-LOG-1's first key: made here, sealed here, only its
// public half and sealed text sent.
func (m *Main) keysInit(ctx context.Context, admin string, pf passphraseFlags) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	keys, err := client.LogKeys(ctx)
	if err != nil {
		return err
	}
	if n := len(keys.Keys); n > 0 {
		return runlet.Errorf(runlet.ECONFLICT, "the workspace has a log key already (generation %d): use 'runlet keys rotate' to replace it", keys.Keys[n-1].Generation)
	}
	pass, err := m.newPassphrase(pf.file, passphraseEnv, "the new log passphrase")
	if err != nil {
		return err
	}
	recipient, sealed, _, err := castlog.GenerateKey(pass)
	if err != nil {
		return fmt.Errorf("make the log key: %w", err)
	}
	var k runlet.LogKey
	err = m.asAdmin(ctx, admin, "making the workspace's log key", func(c *apiclient.Client) (err error) {
		k, err = c.AddLogKey(ctx, api.NewLogKey{After: 0, Recipient: recipient, Sealed: sealed})
		return err
	})
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		return runlet.Errorf(runlet.ECONFLICT, "someone made the workspace's log key meanwhile: nothing changed; see 'runlet keys list'")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Made log key generation %d (%s): devices encrypt the logs of new runs to it.\n", k.Generation, safe(k.Recipient))
	fmt.Fprintln(m.Stdout, "Keep the passphrase safe and tell it to the members who read logs: it cannot be recovered, and without it no log can be read.")
	return nil
}

func (m *Main) keysRotateCommand() *cobra.Command {
	var (
		pf    passphraseFlags
		admin string
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the workspace's log key and passphrase (admins)",
		Long: `rotate makes a new log key generation with a new passphrase: devices
encrypt the logs of new runs to it. It needs the current passphrase, which
opens every older generation here; they are sealed again with the new
passphrase, so that older logs stay readable with it. Nothing is sent in
clear: the server gets the new public half and sealed texts only.

Rotate when a member who knew the passphrase leaves: they cannot open any
key the server holds with the old passphrase any more, and new logs are
encrypted to a key they never had. (What they read or copied before, they
keep, as with any secret.) Tell the members who stay the new passphrase.

The current passphrase comes from the terminal, --passphrase-file or
RUNLET_LOG_PASSPHRASE; the new one from the terminal (typed twice),
--new-passphrase-file or RUNLET_NEW_LOG_PASSPHRASE.`,
		Example: `  runlet keys rotate --admin admin@example.com
  runlet keys rotate --admin admin@example.com --passphrase-file old.txt --new-passphrase-file new.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.keysRotate(cmd.Context(), admin, pf)
		},
	}
	cmd.Flags().StringVar(&pf.file, "passphrase-file", "", "read the current log passphrase from this file ('-' for standard input; env "+passphraseEnv+")")
	cmd.Flags().StringVar(&pf.newFile, "new-passphrase-file", "", "read the new log passphrase from this file (env "+newPassphraseEnv+")")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	return cmd
}

// keysRotate is R-LOG-1's rotation: every generation unsealed with the
// current passphrase, re-sealed with the new one beside a new generation,
// in one request that fails if someone rotated first.
func (m *Main) keysRotate(ctx context.Context, admin string, pf passphraseFlags) error {
	keys, ids, err := m.unlockKeys(ctx, pf.file, "the current log passphrase")
	if err != nil {
		return err
	}
	newPass, err := m.newPassphrase(pf.newFile, newPassphraseEnv, "the new log passphrase")
	if err != nil {
		return err
	}
	recipient, sealed, newID, err := castlog.GenerateKey(newPass)
	if err != nil {
		return fmt.Errorf("make the log key: %w", err)
	}
	resealed := make(map[string]string, len(keys))
	for i, k := range keys {
		s, err := castlog.Seal(ids[i], newPass)
		if err != nil {
			return fmt.Errorf("seal log key generation %d again: %w", k.Generation, err)
		}
		resealed[strconv.FormatInt(k.Generation, 10)] = s
	}
	newest := keys[len(keys)-1].Generation
	var k runlet.LogKey
	err = m.asAdmin(ctx, admin, "rotating the workspace's log key", func(c *apiclient.Client) (err error) {
		k, err = c.AddLogKey(ctx, api.NewLogKey{After: newest, Recipient: recipient, Sealed: sealed, Resealed: resealed})
		return err
	})
	if runlet.ErrorCode(err) == runlet.ECONFLICT {
		return runlet.Errorf(runlet.ECONFLICT, "someone rotated the log key meanwhile: nothing changed here; run 'runlet keys rotate' again")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Made log key generation %d (%s): devices encrypt the logs of new runs to it.\n", k.Generation, safe(k.Recipient))
	fmt.Fprintf(m.Stdout, "Sealed generations %s again with the new passphrase: older logs stay readable with it, and the old passphrase opens nothing the server holds.\n", generationList(keys))
	fmt.Fprintln(m.Stdout, "Tell the members the new passphrase. Removed members cannot read new logs; what they copied before, they keep.")
	// This device's saved identities would miss the new generation.
	dir := home.Dir(m.home)
	if _, err := os.Stat(dir.IdentityFile()); err == nil {
		keys = append(keys, k)
		if err := saveIdentities(dir, keys, append(ids, newID)); err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "Updated the identities saved on this device (%s).\n", dir.IdentityFile())
	}
	return nil
}

func generationList(keys []runlet.LogKey) string {
	if len(keys) == 1 {
		return strconv.FormatInt(keys[0].Generation, 10)
	}
	return fmt.Sprintf("%d to %d", keys[0].Generation, keys[len(keys)-1].Generation)
}

func (m *Main) keysListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the workspace's log key generations",
		Long: `list shows every generation of the workspace's log key, oldest first: its
public half (the age recipient devices encrypt to), when it was made and by
whom. The newest is the active one.`,
		Example: `  runlet keys list
  runlet keys list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			keys, err := client.LogKeys(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				for i := range keys.Keys {
					keys.Keys[i].Sealed = "" // of no use to a reader of the list
				}
				return m.printJSON(keys.Keys)
			}
			if len(keys.Keys) == 0 {
				fmt.Fprintln(m.Stdout, "The workspace has no log key yet: its logs stay on its devices, unencrypted. An admin makes one with 'runlet keys init'.")
				return nil
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GENERATION\tRECIPIENT\tCREATED\tBY")
			for i, k := range keys.Keys {
				gen := strconv.FormatInt(k.Generation, 10)
				if i == len(keys.Keys)-1 {
					gen += " (active)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", gen, safe(k.Recipient), k.Created.UTC().Format(time.RFC3339), safe(k.CreatedBy))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the generations as JSON")
	return cmd
}

func (m *Main) keysUnlockCommand() *cobra.Command {
	var (
		pf   passphraseFlags
		save bool
	)
	cmd := &cobra.Command{
		Use:   "unlock [--save]",
		Short: "Check the log passphrase, and keep the keys on this device with --save",
		Long: `unlock checks that the log passphrase opens every generation of the
workspace's log key. With --save it keeps the opened keys on this device
(in the home's keys/log-identities.txt, readable by you only), so that
'runlet logs' asks for no passphrase here; 'runlet keys lock' removes
them. Anyone who can read that file can read the workspace's logs: save
only on a device you trust.`,
		Example: `  runlet keys unlock
  runlet keys unlock --save --passphrase-file pass.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.keysUnlock(cmd.Context(), pf, save)
		},
	}
	cmd.Flags().StringVar(&pf.file, "passphrase-file", "", "read the log passphrase from this file ('-' for standard input; env "+passphraseEnv+")")
	cmd.Flags().BoolVar(&save, "save", false, "keep the opened keys on this device, so that reading logs asks for no passphrase")
	return cmd
}

func (m *Main) keysUnlock(ctx context.Context, pf passphraseFlags, save bool) error {
	keys, ids, err := m.unlockKeys(ctx, pf.file, "the log passphrase")
	if err != nil {
		return err
	}
	if !save {
		fmt.Fprintf(m.Stdout, "The passphrase opens log key generations %s.\n", generationList(keys))
		return nil
	}
	dir := home.Dir(m.home)
	if err := saveIdentities(dir, keys, ids); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Saved log key generations %s in %s: reading logs on this device asks for no passphrase until 'runlet keys lock'.\n", generationList(keys), dir.IdentityFile())
	return nil
}

func (m *Main) keysLockCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Remove the log keys saved on this device",
		Long: `lock removes the log keys that 'runlet keys unlock --save' kept on this
device: reading logs here asks for the passphrase again.`,
		Example: `  runlet keys lock`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := home.Dir(m.home).IdentityFile()
			err := os.Remove(path)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintln(m.Stdout, "No log keys were saved on this device.")
				return nil
			}
			if err != nil {
				return fmt.Errorf("remove the saved log keys: %w", err)
			}
			fmt.Fprintf(m.Stdout, "Removed the log keys saved in %s: reading logs here asks for the passphrase again.\n", path)
			return nil
		},
	}
}

// logKeys returns the workspace's log key generations, or the error that
// says none was made yet.
func (m *Main) logKeys(ctx context.Context, client *apiclient.Client) ([]runlet.LogKey, error) {
	keys, err := client.LogKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys.Keys) == 0 {
		return nil, errNoLogKey
	}
	return keys.Keys, nil
}

var errNoLogKey = runlet.Errorf(runlet.ENOTFOUND, "this workspace has no log key yet: an admin runs 'runlet keys init'")

// unsealAll opens every generation with pass, in the order of keys. A
// wrong passphrase is EFORBIDDEN.
// unlockKeys fetches the workspace's log key generations and opens every
// one with the passphrase (from file, the environment or the terminal;
// what names it in the prompt).
func (m *Main) unlockKeys(ctx context.Context, file, what string) ([]runlet.LogKey, []*age.X25519Identity, error) {
	_, client, err := m.signedIn()
	if err != nil {
		return nil, nil, err
	}
	keys, err := m.logKeys(ctx, client)
	if err != nil {
		return nil, nil, err
	}
	pass, err := m.passphrase(file, passphraseEnv, what)
	if err != nil {
		return nil, nil, err
	}
	ids, err := unsealAll(keys, pass)
	if err != nil {
		return nil, nil, err
	}
	return keys, ids, nil
}

func unsealAll(keys []runlet.LogKey, pass string) ([]*age.X25519Identity, error) {
	ids := make([]*age.X25519Identity, len(keys))
	for i, k := range keys {
		id, err := unseal(k, pass)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

func unseal(k runlet.LogKey, pass string) (*age.X25519Identity, error) {
	id, err := castlog.Unseal(k.Sealed, pass)
	if errors.Is(err, castlog.ErrWrongPassphrase) {
		return nil, runlet.Errorf(runlet.EFORBIDDEN, "wrong log passphrase: it does not open the workspace's log key (generation %d); nothing was read or changed", k.Generation)
	}
	if err != nil {
		return nil, fmt.Errorf("open log key generation %d: %w", k.Generation, err)
	}
	return id, nil
}

// saveIdentities writes ids (one per generation of keys) to the home's
// identity file, mode 0600, atomically: an age identity file, which
// 'runlet logs --identity' and age itself read.
func saveIdentities(dir home.Dir, keys []runlet.LogKey, ids []*age.X25519Identity) error {
	path := dir.IdentityFile()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	var b strings.Builder
	b.WriteString("# The log keys of this device's Runlet workspace, opened by 'runlet keys unlock --save'.\n")
	b.WriteString("# Whoever reads this file can read the workspace's logs. 'runlet keys lock' removes it.\n")
	for i, k := range keys {
		fmt.Fprintf(&b, "# generation %d, recipient %s\n%s\n", k.Generation, k.Recipient, ids[i].String())
	}
	if err := atomicfile.Write(path, []byte(b.String())); err != nil {
		return fmt.Errorf("save the log keys in %s: %w", path, err)
	}
	// atomicfile makes a new file 0600; an older file keeps its mode.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("save the log keys in %s: %w", path, err)
	}
	return nil
}

// passphrase reads a passphrase: from file when given, else from the
// environment variable env, else typed at the terminal without echo.
func (m *Main) passphrase(file, env, what string) (string, error) {
	return m.readPassphrase(file, env, what, false)
}

// newPassphrase reads a passphrase being chosen: typed twice at a
// terminal, and at least minPassphrase characters long.
func (m *Main) newPassphrase(file, env, what string) (string, error) {
	p, err := m.readPassphrase(file, env, what, true)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(p); n < minPassphrase {
		return "", runlet.Errorf(runlet.EINVALID, "the log passphrase has %d characters: choose one of at least %d (it guards every log of the workspace, and cannot be recovered)", n, minPassphrase)
	}
	return p, nil
}

func (m *Main) readPassphrase(file, env, what string, confirm bool) (string, error) {
	if file != "" {
		return m.readSecretFile(file, "log passphrase", maxPassphrase)
	}
	if p := m.getenv(env); p != "" {
		return p, nil
	}
	t := openTerminal(m.Stdin, nil)
	if t.in == nil {
		return "", runlet.Errorf(runlet.EINVALID, "no log passphrase: run this at a terminal to type %s, or give it with --passphrase-file FILE or %s", what, env)
	}
	// The prompts go to standard error: standard output may be a log.
	ask := func(prompt string) (string, error) {
		fmt.Fprint(m.Stderr, prompt)
		b, err := term.ReadPassword(int(t.in.Fd()))
		fmt.Fprintln(m.Stderr)
		if err != nil {
			return "", fmt.Errorf("read the passphrase: %w", err)
		}
		return string(b), nil
	}
	p, err := ask(upperFirst(what) + ": ")
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", runlet.Errorf(runlet.EINVALID, "no log passphrase given: nothing done")
	}
	if confirm {
		again, err := ask("Again, to confirm: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", runlet.Errorf(runlet.EINVALID, "the two passphrases differ: nothing done")
		}
	}
	return p, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// The identities that read logs: from --identity, the saved file, or the
// passphrase.

// loadIdentityFile reads an age identity file.
func loadIdentityFile(path string) ([]age.Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "read the identity file: %v", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(bufio.NewReader(f))
	if err != nil {
		return nil, runlet.Errorf(runlet.EINVALID, "the identity file %s holds no age identity: %v", path, err)
	}
	return ids, nil
}
