package cli

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
)

func (m *Main) devicesLabelCommand() *cobra.Command {
	var (
		admin string
		clear bool
	)
	cmd := &cobra.Command{
		Use:   "label NAME [KEY[=VALUE]|KEY-]...",
		Short: "Show or change a device's labels, which runs target with --on label:KEY",
		Long: `label shows the labels of the device NAME, or changes them: KEY or
KEY=VALUE adds a label (or changes its value), KEY- removes it, --clear
removes all first. Runs then target labels: 'runlet @run hello --on
label:lab' runs on every device labelled lab, '--on label:room=attic' on
those whose room is attic; a job file's 'where: custom' list takes the same
selectors, and patterns such as pi-*.

Keys and values are 1 to 63 letters, digits, '-', '_' and '.'; a key starts
and ends with a letter or digit; a device has at most 32 labels. A device
gets labels at sign-in too ('runlet @signin --label lab,floor=2').

Changing labels is an admin's to do: runlet signs in as the admin named by
--admin (env RUNLET_ADMIN) with the password typed at the terminal, or from
RUNLET_PASSWORD when there is none, for this request only.`,
		Example: `  runlet devices label pi-1
  runlet devices label pi-1 lab room=attic
  runlet devices label pi-1 room- --admin admin@localhost
  runlet devices label pi-1 --clear gpu`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.labelDevice(cmd.Context(), args[0], args[1:], clear, admin)
		},
	}
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), "email of the workspace admin to change labels as (env RUNLET_ADMIN; asked at a terminal)")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove every label before adding those given")
	return cmd
}

func (m *Main) labelDevice(ctx context.Context, name string, edits []string, clear bool, admin string) error {
	cred, client, err := m.signedIn()
	if err != nil {
		return err
	}
	devs, err := client.Devices(ctx)
	if err != nil {
		return err
	}
	var labels map[string]string
	var names []string
	found := false
	for _, d := range devs {
		names = append(names, safe(d.Name))
		if d.Name == name {
			found, labels = true, maps.Clone(d.Labels)
		}
	}
	if !found {
		return runlet.Errorf(runlet.ENOTFOUND, "there is no device named %q in workspace %s; its devices are: %s", name, safe(cred.WorkspaceName), strings.Join(names, ", "))
	}
	if len(edits) == 0 && !clear {
		fmt.Fprintf(m.Stdout, "%s: %s\n", safe(name), labelsText(labels))
		return nil
	}
	if labels == nil || clear {
		labels = map[string]string{}
	}
	var add []string
	for _, e := range edits {
		if key, ok := strings.CutSuffix(e, "-"); ok && !strings.Contains(e, "=") {
			if _, err := runlet.ParseLabels([]string{key}); err != nil {
				return err
			}
			delete(labels, key)
			continue
		}
		add = append(add, e)
	}
	added, err := runlet.ParseLabels(add)
	if err != nil {
		return err
	}
	maps.Copy(labels, added)
	if err := runlet.CheckLabels(labels); err != nil {
		return err
	}
	adminClient, err := m.signInAdmin(ctx, cred, openTerminal(m.Stdin, nil), bufio.NewReader(m.Stdin), admin, "changing a device's labels")
	if err != nil {
		return err
	}
	got, err := adminClient.SetDeviceLabels(ctx, name, labels)
	_ = adminClient.Logout(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%s: %s\n", safe(name), labelsText(got))
	return nil
}

// labelsText is a device's labels for people: sorted, escaped.
func labelsText(labels map[string]string) string {
	if len(labels) == 0 {
		return "no labels"
	}
	return safe(runlet.FormatLabels(labels))
}
