package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// pushChunk is how many lines `runlet telemetry push` posts at once, and
// pushChunkBytes the most bytes: well under gateway.MaxBody.
const (
	pushChunk      = 1000
	pushChunkBytes = gateway.MaxBody / 2
)

// pushProgress is how often a long push says how far it got.
const pushProgress = 2 * time.Second

// newTelemetryPushCmd is `runlet telemetry push`: JSON lines from stdin or
// a file to the daemon's local readings endpoint.
func newTelemetryPushCmd() *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "push",
		Short: "Send sensor readings (one JSON message a line) to this device's daemon",
		Long: `push reads sensor messages, one JSON message a line, from standard input or
--file, and hands them to the daemon of this device (--home), which keeps
them in its outbox and relays them to the server. A message is the
seed's: {"device":{"id":123,"auth":"secret"},"reading":{"temp":4.5,"batt":80,"time":1733580000}}.

It prints how many readings the daemon accepted and refused, and each
refusal with its line number and the field at fault on standard error. It
exits with status 1 when any line was refused.`,
		Example: `  runlet telemetry push < readings.jsonl
  runlet telemetry push --file readings.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := cmd.InOrStdin()
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return runlet.Errorf(runlet.EINVALID, "Cannot read the readings: %v.", err)
				}
				defer f.Close()
				in = f
			}
			addr, err := gateway.ReadAddr(pushHome(cmd).Path(gateway.AddrFile))
			if err != nil {
				return err
			}
			p := pusher{url: "http://" + addr + "/v1/readings", addr: addr, out: cmd.OutOrStdout(), errs: cmd.ErrOrStderr()}
			return p.push(cmd.Context(), in)
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "read the messages from this file instead of standard input")
	return c
}

// pushHome is the home of --home (the root's flag), RUNLET_HOME, or the
// default.
func pushHome(cmd *cobra.Command) home.Dir {
	if f := cmd.Flags().Lookup("home"); f != nil && f.Value.String() != "" {
		return home.Dir(f.Value.String())
	}
	if h := os.Getenv("RUNLET_HOME"); h != "" {
		return home.Dir(h)
	}
	return home.Default()
}

// pusher posts lines to the readings endpoint in chunks.
type pusher struct {
	url, addr string
	out, errs io.Writer
	client    http.Client

	lines, accepted, refused int
	lastReport               time.Time
}

func (p *pusher) push(ctx context.Context, in io.Reader) error {
	p.client.Timeout = time.Minute
	p.lastReport = time.Now()
	r := bufio.NewReaderSize(in, 64<<10)
	var body bytes.Buffer
	var lineOf []int // the input line of each line in body
	flush := func() error {
		if len(lineOf) == 0 {
			return nil
		}
		err := p.post(ctx, body.Bytes(), lineOf)
		body.Reset()
		lineOf = lineOf[:0]
		return err
	}
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			p.lines++
			if t := bytes.TrimSpace(line); len(t) > 0 {
				if body.Len()+len(t) >= pushChunkBytes {
					if err := flush(); err != nil {
						return err
					}
				}
				body.Write(t)
				body.WriteByte('\n')
				lineOf = append(lineOf, p.lines)
				if len(lineOf) >= pushChunk {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read the readings: %w", err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Fprintf(p.out, "accepted %d, refused %d\n", p.accepted, p.refused)
	if p.refused > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// post sends one chunk; lineOf maps its lines to the input's.
func (p *pusher) post(ctx context.Context, body []byte, lineOf []int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := p.client.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return runlet.Errorf(runlet.EUNAVAILABLE, "No daemon is listening for readings at %s: start it with `runlet daemon`.", p.addr)
	}
	if err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The daemon at %s did not answer (%v); %d readings were accepted before.", p.addr, err, p.accepted)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusBadRequest:
	default:
		var e struct{ Error string }
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		return runlet.Errorf(runlet.EUNAVAILABLE, "The daemon at %s did not keep the readings from line %d on (%s: %s); %d readings were accepted before.",
			p.addr, lineOf[0], resp.Status, runlet.SafeText(e.Error), p.accepted)
	}
	var a gateway.Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "The daemon at %s answered something that is not its readings answer (%v).", p.addr, err)
	}
	p.accepted += a.Accepted
	p.refused += len(a.Refused)
	for _, r := range a.Refused {
		p.printRefusal(r, lineOf)
	}
	if time.Since(p.lastReport) >= pushProgress {
		p.lastReport = time.Now()
		fmt.Fprintf(p.errs, "… %d lines read: accepted %d, refused %d\n", p.lines, p.accepted, p.refused)
	}
	return nil
}

func (p *pusher) printRefusal(r sensormsg.Refusal, lineOf []int) {
	line := "?"
	if r.Index >= 0 && r.Index < len(lineOf) {
		line = fmt.Sprint(lineOf[r.Index])
	}
	field := ""
	if r.Field != "" {
		field = " " + runlet.SafeText(r.Field) + ":"
	}
	fmt.Fprintf(p.errs, "line %s:%s %s (%s)\n", line, field, runlet.SafeText(r.Message), runlet.SafeText(string(r.Reason)))
}
