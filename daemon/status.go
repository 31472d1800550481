package daemon

import (
	"fmt"
	"io"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/wire"
)

// onStatus is the runner's OnStatus: every transition is recorded and goes
// to the outbox before the runner moves on.
func (d *Daemon) onStatus(e runlet.Execution) {
	d.mu.Lock()
	tr := d.execs[e.ID]
	d.mu.Unlock()
	var last uint64
	if x := d.runner.Get(e.ID); x != nil {
		last = x.LastSeq()
	}
	d.report(e, last)
	if tr == nil {
		return
	}
	d.mu.Lock()
	tr.status = e.Status
	d.mu.Unlock()
	if e.Status.Final() {
		close(tr.final)
	}
}

// report records e and queues its status for the servers.
//
// The order of the two writes decides what a crash between them (or
// between the outbox's send and the record's write) leaves behind. A final
// status goes to the outbox first: it is never lost, and if the record still
// says Running the recovery's Error comes after it, which the server ignores
// (it keeps the first final status). A Pending or Running status is
// recorded first, so that the recovery knows the run had started even when
// the outbox had already sent the status when the daemon died.
func (d *Daemon) report(e runlet.Execution, last uint64) {
	queue := func() {
		if err := d.outbox.add(wire.Status{Execution: e, LastSeq: last}); err != nil {
			d.log.Error("cannot store a status for sending", "execution", e.ID, "status", e.Status, "err", err)
		}
	}
	record := func() {
		if err := d.records.put(e); err != nil {
			d.log.Error("cannot record an execution's status; a crash now would leave it unreported", "execution", e.ID, "err", err)
		}
	}
	if e.Status.Final() {
		queue()
		record()
	} else {
		record()
		queue()
	}
	d.log.Info("execution", "execution", e.ID, "job", e.Job, "status", e.Status, "exitCode", e.ExitCode, "reason", e.Reason)
}

// Reasons of the Error statuses the daemon itself decides.
const (
	reasonExpired = "expired before the device took it"
)

// recover ends, as Error, the executions a previous daemon of this home
// took and did not see end (it was killed, or the machine stopped): their
// processes are gone with it (R-JOB-8).
func (d *Daemon) recover() error {
	now := d.cfg.Now()
	left, err := d.records.unfinished(now)
	if err != nil {
		return err
	}
	at := now.UTC().Format(time.RFC3339)
	for _, e := range left {
		// A crash between the outbox's write and the record's leaves the
		// newer state in the outbox only: it is the truth.
		if st, ok := d.outbox.latest(e.ID); ok {
			if st.Status.Final() {
				if err := d.records.put(st.Execution); err != nil {
					d.log.Error("cannot record an execution's status", "execution", e.ID, "err", err)
				}
				continue // the outbox sends the final status
			}
			e = st.Execution
		}
		e.Reason = fmt.Sprintf("the daemon stopped during the run (restarted at %s)", at)
		if e.Started.IsZero() {
			e.Reason = fmt.Sprintf("the daemon stopped before the run started (restarted at %s)", at)
		}
		e.Status, e.ExitCode, e.Finished = runlet.StatusError, -1, now
		last := d.lastLogged(e.ID)
		d.report(e, last)
		// Viewers still waiting for the end of the output get it.
		d.publish(wire.EndMessage(bus.OutputKey(e.ID, d.device), last))
	}
	return nil
}

// lastLogged is the sequence number of the last complete frame in the log
// of execution id, 0 if none.
func (d *Daemon) lastLogged(id string) uint64 {
	l, err := d.runner.ReadLog(id)
	if err != nil {
		return 0
	}
	defer l.Close()
	var last uint64
	for {
		fr, err := l.Next()
		if err != nil {
			if err != io.EOF {
				d.log.Debug("execution log ends in a partial frame", "execution", id, "err", err)
			}
			return last
		}
		last = fr.Seq
	}
}
