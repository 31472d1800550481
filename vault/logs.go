package vault

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/blob"
)

// Upload is one device's upload of a run's encrypted log.
type Upload struct {
	// Workspace is the caller's workspace.
	Workspace string
	// Caller is the device that sends it; nil when a person does (who
	// may not).
	Caller *runlet.Device
	// Execution and Device (a name) say whose log it is.
	Execution, Device string
	// Body holds Size bytes of ciphertext.
	Body io.Reader
	Size int64
	// Meta is what the device says of the log.
	Meta api.LogUpload
}

// Upload stores a run's encrypted log (R-LOG-2). Only the device the run
// ran on uploads it, for an execution that targets it, encrypted to a
// generation the workspace has. The same log again (the same sha256 as
// recorded) writes nothing and answers the record, so that a device that
// retries after a lost answer makes no duplicate. Otherwise the object is
// written first and checked against Meta.SHA256 and Size by the object
// store, then recorded: a crash between the two leaves an object without
// a record, which the sweep deletes, never a record without its object.
// EFORBIDDEN: a person, or another device. ENOTFOUND: no such execution
// on the device. EINVALID: bad meta, an unknown generation, a body that
// does not match. EUNAVAILABLE: the object store cannot be reached.
func (s *Service) Upload(ctx context.Context, u Upload) (runlet.LogObject, error) {
	switch {
	case u.Caller == nil:
		return runlet.LogObject{}, runlet.Errorf(runlet.EFORBIDDEN, "Only the device a run ran on uploads its log; a person cannot.")
	case u.Caller.Name != u.Device:
		return runlet.LogObject{}, runlet.Errorf(runlet.EFORBIDDEN, "The device %s cannot upload the log of %s: a device uploads only its own logs.", u.Caller.Name, u.Device)
	case u.Size < 0 || u.Size > api.MaxLogUpload:
		return runlet.LogObject{}, runlet.Errorf(runlet.EINVALID, "A log of %d bytes cannot be uploaded: at most %d bytes.", u.Size, int64(api.MaxLogUpload))
	}
	if err := checkUploadMeta(u.Meta); err != nil {
		return runlet.LogObject{}, err
	}
	if _, err := s.db.Execution(ctx, u.Workspace, u.Execution, u.Device); err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			return runlet.LogObject{}, runlet.Errorf(runlet.ENOTFOUND, "There is no run %s on the device %s.", u.Execution, u.Device)
		}
		return runlet.LogObject{}, fmt.Errorf("read the run %s: %w", u.Execution, err)
	}
	if err := s.checkGeneration(ctx, u.Workspace, u.Meta.Generation); err != nil {
		return runlet.LogObject{}, err
	}
	key := ObjectKey(u.Workspace, u.Execution, u.Caller.ID)
	old, err := s.db.LogObject(ctx, u.Workspace, u.Execution, u.Caller.ID)
	switch {
	case err == nil && old.SHA256 == u.Meta.SHA256 && old.Size == u.Size:
		// Stored already, unless the object was lost since (then the
		// device's copy makes it whole again).
		in, err := s.blobs.Stat(ctx, key)
		if err == nil && in.SHA256 == old.SHA256 {
			return s.withName(old, u.Device), nil
		}
		if err != nil && runlet.ErrorCode(err) != runlet.ENOTFOUND {
			return runlet.LogObject{}, fmt.Errorf("look for the stored log of %s on %s: %w", u.Execution, u.Device, err)
		}
	case err != nil && runlet.ErrorCode(err) != runlet.ENOTFOUND:
		return runlet.LogObject{}, fmt.Errorf("read the record of the log: %w", err)
	}
	modified := u.Meta.Modified.UTC()
	if _, err := s.blobs.Put(ctx, key, u.Body, u.Size, blob.Meta{SHA256: u.Meta.SHA256, Modified: modified}); err != nil {
		return runlet.LogObject{}, fmt.Errorf("store the log of %s on %s: %w", u.Execution, u.Device, err)
	}
	o := runlet.LogObject{
		Workspace: u.Workspace, Execution: u.Execution, Device: u.Caller.ID, DeviceName: u.Device,
		State: u.Meta.State, Size: u.Size, SHA256: u.Meta.SHA256, Modified: modified,
		Generation: u.Meta.Generation, Segments: u.Meta.Segments,
	}
	if err := s.db.PutLogObject(ctx, &o); err != nil {
		return runlet.LogObject{}, fmt.Errorf("record the log of %s on %s: %w", u.Execution, u.Device, err)
	}
	s.log.Info("run log stored", "workspace", u.Workspace, "execution", u.Execution, "device", u.Device,
		"size", u.Size, "state", u.Meta.State, "generation", u.Meta.Generation)
	return o, nil
}

// checkGeneration reports, with EINVALID, a generation the workspace
// does not have.
func (s *Service) checkGeneration(ctx context.Context, ws string, gen int64) error {
	keys, err := s.db.LogKeys(ctx, ws)
	if err != nil {
		return fmt.Errorf("read the log keys: %w", err)
	}
	for _, k := range keys {
		if k.Generation == gen {
			return nil
		}
	}
	if len(keys) == 0 {
		return runlet.Errorf(runlet.EINVALID, "The workspace has no log key, so no log of it is encrypted to generation %d: an admin runs 'runlet keys init'.", gen)
	}
	return runlet.Errorf(runlet.EINVALID, "The workspace has no log key generation %d (the newest is %d).", gen, keys[len(keys)-1].Generation)
}

func (s *Service) withName(o runlet.LogObject, name string) runlet.LogObject {
	if o.DeviceName == "" {
		o.DeviceName = name
	}
	return o
}

// Object returns the record of the log of execution exec on the device
// named device: the device's current one, or a removed device's whose
// name it was. ENOTFOUND: nothing uploaded (yet).
func (s *Service) Object(ctx context.Context, ws, exec, device string) (runlet.LogObject, error) {
	objs, err := s.db.LogObjects(ctx, ws, exec)
	if err != nil {
		return runlet.LogObject{}, fmt.Errorf("read the logs of %s: %w", exec, err)
	}
	var found *runlet.LogObject
	for i, o := range objs {
		if o.DeviceName == device && (found == nil || o.Uploaded.After(found.Uploaded)) {
			found = &objs[i]
		}
	}
	if found == nil {
		return runlet.LogObject{}, runlet.Errorf(runlet.ENOTFOUND, "The device %s has not uploaded the log of %s (yet).", device, exec)
	}
	found.Workspace = ws
	return *found, nil
}

// Open reads the log of execution exec on the device named device, from
// byte off, n bytes (n < 0: to the end), with its record (R-LOG-3). An
// off at or past the end gives an empty body. ENOTFOUND: not uploaded;
// EINTERNAL: recorded but the object is gone.
func (s *Service) Open(ctx context.Context, ws, exec, device string, off, n int64) (io.ReadCloser, runlet.LogObject, error) {
	o, err := s.Object(ctx, ws, exec, device)
	if err != nil {
		return nil, o, err
	}
	if off >= o.Size {
		return io.NopCloser(&io.LimitedReader{}), o, nil
	}
	rc, _, err := s.blobs.Open(ctx, ObjectKey(ws, exec, o.Device), off, n)
	if err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			return nil, o, fmt.Errorf("the log of %s on %s is recorded but its object is missing: %w", exec, device, err)
		}
		return nil, o, fmt.Errorf("read the log of %s on %s: %w", exec, device, err)
	}
	return rc, o, nil
}

// ExecutionLogs says, for each target device of execution exec, whether
// its log was uploaded (its record) and, when not, why, for people: the
// run is still going, the device is uploading it, or the device is
// offline since a time and has not uploaded it yet. ENOTFOUND: no such
// execution.
func (s *Service) ExecutionLogs(ctx context.Context, ws, exec string) (api.ExecutionLogs, error) {
	targets, err := s.db.ExecutionTargets(ctx, ws, exec)
	if err != nil {
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			return api.ExecutionLogs{}, runlet.Errorf(runlet.ENOTFOUND, "There is no run %s in this workspace.", exec)
		}
		return api.ExecutionLogs{}, fmt.Errorf("read the run %s: %w", exec, err)
	}
	objs, err := s.db.LogObjects(ctx, ws, exec)
	if err != nil {
		return api.ExecutionLogs{}, fmt.Errorf("read the logs of %s: %w", exec, err)
	}
	keys, err := s.db.LogKeys(ctx, ws)
	if err != nil {
		return api.ExecutionLogs{}, fmt.Errorf("read the log keys: %w", err)
	}
	presence := map[string]runlet.DevicePresence{}
	if s.cfg.Presence != nil {
		for _, p := range s.cfg.Presence.Devices(ws) {
			presence[p.Name] = p
		}
	}
	out := api.ExecutionLogs{Logs: []api.ExecutionLog{}}
	for _, e := range targets {
		l := api.ExecutionLog{Device: e.Device, Status: e.Status}
		for i, o := range objs {
			if o.DeviceName == e.Device && (l.Object == nil || o.Uploaded.After(l.Object.Uploaded)) {
				l.Object = &objs[i]
			}
		}
		p, known := presence[e.Device]
		l.Online = known && p.Online
		if d, err := s.db.DeviceByName(ctx, ws, e.Device); err == nil {
			l.LastSeen = d.LastSeen
		}
		if known && !p.Online && p.Since.After(l.LastSeen) {
			l.LastSeen = p.Since
		}
		if l.Online && s.now().After(l.LastSeen) {
			l.LastSeen = s.now()
		}
		if l.Object == nil {
			l.Pending = pending(e, l, len(keys) > 0)
		}
		out.Logs = append(out.Logs, l)
	}
	slices.SortFunc(out.Logs, func(a, b api.ExecutionLog) int {
		switch {
		case a.Device < b.Device:
			return -1
		case a.Device > b.Device:
			return 1
		}
		return 0
	})
	return out, nil
}

// pending says, for people, why target e's log l is not uploaded.
func pending(e runlet.Execution, l api.ExecutionLog, hasKey bool) string {
	switch {
	case !hasKey:
		return "this workspace has no log key yet: an admin runs 'runlet keys init'"
	case e.Status == runlet.StatusPending:
		return "the run has not started yet"
	case !e.Status.Final():
		return "the run is still going"
	case l.Online:
		return fmt.Sprintf("the device %s is uploading it", e.Device)
	case l.LastSeen.IsZero():
		return fmt.Sprintf("the device %s is offline and has not uploaded it yet", e.Device)
	default:
		return fmt.Sprintf("the device %s is offline since %s and has not uploaded it yet", e.Device, l.LastSeen.UTC().Format(time.DateTime+" UTC"))
	}
}
