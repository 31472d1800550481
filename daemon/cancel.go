package daemon

import (
	"context"
	"net/http"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/tlspin"
	"github.com/runlet/runlet/wire"
)

// A stop or kill of a run whose device is offline ends the run on the
// server at once (dispatch.Service.Stop), while its dispatch still waits in
// the device's durable queue, ahead of anything said after it. So before
// it starts a run the daemon reads the server's record of it, the one
// truth about a run: only a run still Pending and not asked to stop
// starts. The record also carries what else may have ended the run while
// it waited (the server's expiry sweep).
//
// When the server cannot answer (unreachable, or an error of its own), the
// dispatch waits, asked again with a growing pause, until the server
// answers, the dispatch expires or the daemon stops: a run that may have
// been cancelled never starts unconfirmed. The runs behind it wait too, in
// their order (R-JOB-3). The broker and the API are one process in the
// embedded deployment; only a deployment whose API is down while its broker
// is up sees runs wait.

const (
	// recordRetryFirst and recordRetryMost are the first and the longest
	// pause between two reads of a record the server did not answer.
	recordRetryFirst = time.Second
	recordRetryMost  = 30 * time.Second
	// recordWait bounds one read of a record.
	recordWait = 30 * time.Second
)

// startable reports whether the run of disp may start: its record on the
// server is Pending, and no stop or kill was asked. A run the server ended
// does not start; a run it left unended but that must not start ends here
// and is reported. ok is false when ctx ended while the server could not
// be asked (the daemon stops: the dispatch goes back to the queue).
func (d *Daemon) startable(ctx context.Context, disp wire.Dispatch, expiresAt time.Time) (start, ok bool) {
	api := d.api()
	wait := recordRetryFirst
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, recordWait)
		e, err := api.Target(rctx, disp.Execution, d.device)
		cancel()
		switch code := runlet.ErrorCode(err); {
		case err == nil:
			return d.decide(disp, e), true
		case code == runlet.ENOTFOUND:
			d.log.Warn("not starting an execution the server has no record of on this device", "execution", disp.Execution, "job", disp.Job, "err", err)
			return false, true
		case code == runlet.EUNAUTHORIZED:
			d.refusedByBroker(err) // serve asks whether the device was revoked
		}
		if ctx.Err() != nil {
			return false, false
		}
		log := d.log.Debug
		if attempt == 1 {
			log = d.log.Warn
		}
		log("cannot ask the server whether an execution may start; it waits", "execution", disp.Execution, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return false, false
		case <-time.After(wait):
		}
		if expired(disp, expiresAt, d.cfg.Now()) {
			d.expire(disp)
			return false, true
		}
		wait = min(2*wait, recordRetryMost)
	}
}

// decide applies the server's record e of disp's run.
func (d *Daemon) decide(disp wire.Dispatch, e runlet.Execution) bool {
	if e.Status == runlet.StatusPending && !e.Killed {
		return true
	}
	// Input typed for a run that never starts goes with it, as in expire.
	d.typeAhead.mu.Lock()
	d.typeAhead.drop(disp.Execution, d.log)
	d.typeAhead.mu.Unlock()
	var reason string
	switch {
	case e.Status.Final():
		d.log.Info("not starting an execution the server has ended", "execution", disp.Execution, "job", disp.Job,
			"outcome", e.Outcome(), "reason", e.Reason)
		return false
	case e.Status == runlet.StatusPending:
		// A server that records the stop without ending the run.
		reason = runlet.ReasonStoppedBeforeStart
	default:
		reason = reasonStartedElsewhere
	}
	d.log.Info("not starting an execution", "execution", disp.Execution, "job", disp.Job, "reason", reason)
	now := d.cfg.Now()
	d.report(runlet.Execution{
		ID: disp.Execution, Job: disp.Job, Client: disp.Client, Device: d.device,
		Status: runlet.StatusError, Created: disp.Created, Scheduled: disp.Scheduled,
		Finished: now, ExitCode: -1, Killed: e.Killed, Reason: reason,
	}, 0)
	return false
}

// reasonStartedElsewhere ends a run the server has Running that this
// device has no record of taking (its state was lost): it does not run
// twice.
const reasonStartedElsewhere = "the server has it running, but this device has no record of starting it; not started again"

// api is the server's API as this device, one client for the daemon's
// life, so that its connections are reused.
func (d *Daemon) api() *apiclient.Client {
	d.apiOnce.Do(func() {
		c := apiclient.FromCredentials(d.creds)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg := tlspin.Config(d.creds.ServerFingerprint, d.cfg.RootCAs); cfg != nil {
			tr.TLSClientConfig = cfg
		}
		c.HTTP = &http.Client{Timeout: recordWait, Transport: tr}
		d.apiHTTP = c
	})
	return d.apiHTTP
}
