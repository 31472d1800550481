// Package notify sends the notifications that the alert service queued in
// the store's outbox (R-TEL-5): by e-mail (SMTP), webhook (signed JSON) or
// SMS (a generic HTTP provider). Every server process runs one Service:
// it claims due notifications for a while, sends each on its channel
// concurrently with a timeout, so that a failing or hanging channel never
// holds the others back, and records every attempt: sent, pending again
// with a backoff, or failed with the reason. A process that dies mid-send
// leaves its claims to run out, and another sends them: at least once,
// with the same idempotency key each time.
package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/lease"
	"github.com/runlet/runlet/store"
)

// Defaults of Config.
const (
	DefaultPoll        = time.Second
	DefaultClaim       = 2 * time.Minute
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 8
	DefaultConcurrency = 16
	// BackoffBase is the wait after the first failed attempt; each
	// further failure doubles it, up to BackoffMax.
	BackoffBase = 5 * time.Second
	BackoffMax  = 10 * time.Minute
	// maxReason bounds the reason recorded with an attempt, in bytes.
	maxReason = 1000
)

// Store is what the service needs of the store.
type Store interface {
	ClaimNotifications(ctx context.Context, holder string, until time.Time, limit int) ([]runlet.Notification, error)
	FinishNotification(ctx context.Context, id int64, holder string, r store.NotificationResult) (runlet.Notification, error)
	Channel(ctx context.Context, workspace, id string) (runlet.Channel, string, error)
	NotifySettings(ctx context.Context, workspace string) (store.NotifySettings, error)
}

var _ Store = store.Alerts(nil)

// Config configures the service. Store is required.
type Config struct {
	Store Store
	// Now is the clock, the store's (store.Options.Now), since claims and
	// retries are timed by it; nil means time.Now.
	Now func() time.Time
	// Logger receives the log; nil means slog.Default().
	Logger *slog.Logger
	// Holder names this process in its claims; "" means
	// HOSTNAME-PID-RANDOM.
	Holder string
	// Poll is how often the service looks for due notifications when not
	// kicked; 0 means DefaultPoll.
	Poll time.Duration
	// Claim is how long a notification stays claimed by this process:
	// another takes it over when it runs out. 0 means DefaultClaim. It
	// must exceed Timeout.
	Claim time.Duration
	// Timeout bounds one attempt to send; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts is how many attempts a notification gets before it
	// fails; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// Backoff returns the wait before attempt n+1 after n failed ones;
	// nil means Backoff (5s, 10s, 20s … capped at 10 minutes).
	Backoff func(failed int) time.Duration
	// Concurrency bounds the sends under way; 0 means DefaultConcurrency.
	Concurrency int
	// HTTPClient sends webhooks and SMS; nil means a client that does
	// not follow redirects. Timeouts come from Timeout.
	HTTPClient *http.Client
	// RootCAs check SMTP servers' certificates; nil means the system's.
	RootCAs *x509.CertPool
	// Senders replaces the sender of a channel kind (tests, or another
	// provider); the kinds not listed keep the built-in ones.
	Senders map[runlet.ChannelKind]Sender
}

// Backoff is the default wait before the next attempt after failed ones:
// BackoffBase doubled per failure after the first, at most BackoffMax.
func Backoff(failed int) time.Duration {
	d := BackoffBase
	for i := 1; i < failed; i++ {
		d *= 2
		if d >= BackoffMax {
			return BackoffMax
		}
	}
	return d
}

// Service sends the outbox: Start runs it in the background until Close;
// Step is one pass, for tests that drive the clock.
type Service struct {
	cfg     Config
	db      Store
	log     *slog.Logger
	now     func() time.Time
	senders map[runlet.ChannelKind]Sender

	slots chan struct{} // a token per send under way
	kick  chan struct{} // Kick: look now
	freed chan struct{} // a send ended: a slot is free

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	stop   chan struct{} // closed at Close: no further pass
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	lastErr string // the last claim error logged, so that a store down is told once
}

// New checks cfg and returns the service, not started.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: a store is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Claim <= 0 {
		cfg.Claim = DefaultClaim
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Claim <= cfg.Timeout {
		return nil, fmt.Errorf("notify: a claim (%v) must last longer than one attempt to send (%v), or another process resends what is still being sent", cfg.Claim, cfg.Timeout)
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = Backoff
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Holder == "" {
		cfg.Holder = "notify-" + lease.DefaultHolder()
	}
	s := &Service{cfg: cfg, db: cfg.Store, log: cfg.Logger.With("holder", cfg.Holder), now: cfg.Now,
		senders: map[runlet.ChannelKind]Sender{
			runlet.ChannelEmail:   &Email{Now: cfg.Now, RootCAs: cfg.RootCAs},
			runlet.ChannelWebhook: &Webhook{Client: cfg.HTTPClient, Now: cfg.Now},
			runlet.ChannelSMS:     &SMS{Client: cfg.HTTPClient},
		},
		slots: make(chan struct{}, cfg.Concurrency),
		kick:  make(chan struct{}, 1),
		freed: make(chan struct{}, 1),
		stop:  make(chan struct{}),
	}
	for k, v := range cfg.Senders {
		s.senders[k] = v
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Holder is the name this service claims notifications by.
func (s *Service) Holder() string { return s.cfg.Holder }

// Start runs the service in the background until Close: a pass at once,
// then one every Poll, at each Kick, and whenever a send ends while all
// slots were busy.
func (s *Service) Start() { s.wg.Go(s.loop) }

// Kick makes the running service look for due notifications at once; the
// alert service calls it after queueing some. It never blocks.
func (s *Service) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *Service) loop() {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		claimed, limit, err := s.pass(s.ctx, &s.wg)
		s.report(err)
		if err == nil && limit > 0 && claimed == limit { // more may be due
			select {
			case <-s.stop:
				return
			default:
				continue
			}
		}
		var freed <-chan struct{}
		if limit == 0 || claimed == limit { // every slot busy: look again when one frees
			freed = s.freed
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		case <-freed:
		}
	}
}

// report logs a failed claim once while it repeats.
func (s *Service) report(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case err == nil:
		if s.lastErr != "" {
			s.log.Info("notifications can be claimed again")
		}
		s.lastErr = ""
	case s.ctx.Err() != nil:
	case err.Error() != s.lastErr:
		s.lastErr = err.Error()
		s.log.Warn("claim notifications to send", "err", err)
	}
}

// closeGrace bounds how long Close lets sends under way finish.
const closeGrace = 5 * time.Second

// Close stops the service: it claims nothing more, lets the sends under
// way finish for a few seconds (Timeout if shorter), then cancels them. A
// cancelled send is not recorded; its claim runs out and another process
// sends it.
func (s *Service) Close() {
	s.once.Do(func() {
		close(s.stop)
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(min(s.cfg.Timeout, closeGrace)):
			s.cancel()
			<-done
		}
		s.cancel()
	})
}

// Step is one pass: claim the due notifications there are free slots for
// and send them, returning once every one of them is recorded. It returns
// the claim's error; a failed send is recorded, not returned.
func (s *Service) Step(ctx context.Context) error {
	var wg sync.WaitGroup
	_, _, err := s.pass(ctx, &wg)
	wg.Wait()
	return err
}

// pass claims as many due notifications as there are free slots (limit)
// and starts a send of each on wg; claimed says how many it got.
func (s *Service) pass(ctx context.Context, wg *sync.WaitGroup) (claimed, limit int, err error) {
acquire:
	for limit < cap(s.slots) {
		select {
		case s.slots <- struct{}{}:
			limit++
		default:
			break acquire
		}
	}
	if limit == 0 {
		return 0, 0, nil
	}
	ns, err := s.db.ClaimNotifications(ctx, s.cfg.Holder, s.now().Add(s.cfg.Claim), limit)
	for range limit - len(ns) {
		<-s.slots
	}
	if err != nil {
		return 0, limit, fmt.Errorf("claim notifications: %w", err)
	}
	settings := &settingsCache{db: s.db, m: map[string]settingsEntry{}}
	for _, n := range ns {
		wg.Go(func() {
			defer s.release()
			s.deliver(ctx, n, settings)
		})
	}
	return len(ns), limit, nil
}

func (s *Service) release() {
	<-s.slots
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// deliver makes one attempt at n and records it.
func (s *Service) deliver(ctx context.Context, n runlet.Notification, settings *settingsCache) {
	log := s.log.With("notification", n.ID, "workspace", n.Workspace, "channel", n.Channel, "key", n.Key)
	err := s.attempt(ctx, n, settings)
	if err != nil && ctx.Err() != nil {
		log.Info("sending stopped with the service; the claim will run out and the notification be sent again", "err", err)
		return
	}
	r := s.result(n, err)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if _, ferr := s.db.FinishNotification(rctx, n.ID, s.cfg.Holder, r); ferr != nil {
		if runlet.ErrorCode(ferr) == runlet.ECONFLICT {
			log.Warn("another process took this notification over while it was being sent; it may arrive twice, with the same key", "err", ferr)
			return
		}
		log.Error("record the attempt to send a notification", "state", r.State, "err", ferr)
		return
	}
	switch r.State {
	case runlet.NotificationSent:
		log.Debug("notification sent", "attempts", n.Attempts+1)
	case runlet.NotificationFailed:
		log.Warn("notification failed", "attempts", n.Attempts+1, "reason", r.Error)
	default:
		log.Info("notification not sent; will try again", "attempts", n.Attempts+1, "next", r.Next, "err", err)
	}
}

// errDeleted and errDisabled end a notification whose channel is gone.
var (
	errDeleted  = permanentf("the channel was deleted")
	errDisabled = permanentf("the channel was disabled")
)

// attempt sends n once, within Timeout.
func (s *Service) attempt(ctx context.Context, n runlet.Notification, settings *settingsCache) error {
	ch, secret, err := s.db.Channel(ctx, n.Workspace, n.Channel)
	switch {
	case runlet.ErrorCode(err) == runlet.ENOTFOUND:
		return errDeleted
	case err != nil:
		return fmt.Errorf("look up the channel: %w", err)
	case ch.Disabled:
		return errDisabled
	}
	set, err := settings.get(ctx, n.Workspace)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err = s.send(sctx, n, ch, secret, set)
	if err != nil && ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v: %w", s.cfg.Timeout, err)
	}
	return err
}

func (s *Service) send(ctx context.Context, n runlet.Notification, ch runlet.Channel, secret string, set store.NotifySettings) error {
	kind := n.Kind
	if kind == "" {
		kind = ch.Kind
	}
	sender, ok := s.senders[kind]
	if !ok {
		return permanentf("no sender for channels of kind %q", kind)
	}
	return sender.Send(ctx, n, ch, secret, set)
}

// SendNow sends n through ch at once, outside the outbox, within Timeout,
// and returns the channel's error: for the API's "test this channel".
func (s *Service) SendNow(ctx context.Context, n runlet.Notification, ch runlet.Channel, secret string) error {
	set, err := s.db.NotifySettings(ctx, ch.Workspace)
	if err != nil {
		return fmt.Errorf("read the workspace's notification settings: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.send(ctx, n, ch, secret, set); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no answer within %v: %w", s.cfg.Timeout, err)
		}
		return err
	}
	return nil
}

// result is what an attempt that ended with err records: sent; failed
// when err is permanent or it was the last attempt; else pending again
// after the backoff.
func (s *Service) result(n runlet.Notification, err error) store.NotificationResult {
	if err == nil {
		return store.NotificationResult{State: runlet.NotificationSent}
	}
	attempts := n.Attempts + 1
	reason := oneLine(err.Error(), maxReason)
	switch {
	case IsPermanent(err):
		return store.NotificationResult{State: runlet.NotificationFailed, Error: reason}
	case attempts >= s.cfg.MaxAttempts:
		return store.NotificationResult{State: runlet.NotificationFailed,
			Error: oneLine(fmt.Sprintf("gave up after %d attempts: %s", attempts, reason), maxReason)}
	}
	return store.NotificationResult{State: runlet.NotificationPending, Error: reason, Next: s.now().Add(s.cfg.Backoff(attempts))}
}

// settingsCache reads each workspace's notification settings once a pass.
type settingsCache struct {
	db Store
	mu sync.Mutex
	m  map[string]settingsEntry
}

type settingsEntry struct {
	s   store.NotifySettings
	err error
}

func (c *settingsCache) get(ctx context.Context, ws string) (store.NotifySettings, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[ws]; ok {
		return e.s, e.err
	}
	s, err := c.db.NotifySettings(ctx, ws)
	switch {
	case runlet.ErrorCode(err) == runlet.ENOTFOUND:
		err = permanentf("the workspace was deleted")
	case err != nil:
		err = fmt.Errorf("read the workspace's notification settings: %w", err)
	}
	if err == nil || IsPermanent(err) {
		c.m[ws] = settingsEntry{s, err}
	}
	return s, err
}
