package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/store"
)

// Resolver is the DNS the queue uses; *net.Resolver satisfies it.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Options configure a Queue.
type Options struct {
	Store    *store.Store
	Logger   *slog.Logger
	Hostname string // EHLO name, Reporting-MTA and the MAILER-DAEMON domain
	Resolver Resolver
	// Port is the remote SMTP port (default 25).
	Port int
	// Smarthost ("host:port"), when set, receives all outbound mail instead of the MX.
	Smarthost                        string
	SmarthostUser, SmarthostPassword string
	// Expire: a recipient still failing after this long is bounced (default 5 days).
	Expire time.Duration
	// RetryBase is the first retry delay, doubled per attempt up to RetryMax
	// (defaults 5 minutes and 4 hours).
	RetryBase, RetryMax time.Duration
	// Concurrency bounds parallel deliveries (default 8).
	Concurrency int
	// DialTimeout (default 30 s) and SessionTimeout, the whole SMTP session (default 10 min).
	DialTimeout, SessionTimeout time.Duration
	// DKIM signs outgoing mail with the sender domain's key, creating it if needed
	// (default on; DisableDKIM turns it off).
	DisableDKIM bool
	Now         func() time.Time
}

// Queue is the outbound delivery service.
type Queue struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	signers sync.Map // domain -> *keySigner

	mu       sync.Mutex
	inflight map[int64]bool // recipient rows being delivered
	wg       sync.WaitGroup
}

// New makes a Queue; Run starts delivering.
func New(opts Options) *Queue {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.Port == 0 {
		opts.Port = 25
	}
	if opts.Expire <= 0 {
		opts.Expire = 5 * 24 * time.Hour
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = 5 * time.Minute
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 4 * time.Hour
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 30 * time.Second
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Queue{opts: opts, log: opts.Logger.With("proto", "smtp", "sub", "queue"),
		kick: make(chan struct{}, 1), inflight: map[int64]bool{}}
}

// Kick makes Run look at the queue now (after new mail was queued). It never blocks.
func (q *Queue) Kick() {
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Flush makes every queued recipient due now (`gatehouse queue flush`).
func (q *Queue) Flush(ctx context.Context) (int64, error) {
	n, err := q.opts.Store.QueueFlush(ctx)
	q.Kick()
	return n, err
}

// List returns every queued recipient (`gatehouse queue list`).
func (q *Queue) List(ctx context.Context) ([]store.QueueEntry, error) {
	return q.opts.Store.QueueList(ctx)
}

// Delete removes a queued message without a bounce (`gatehouse queue delete ID`).
func (q *Queue) Delete(ctx context.Context, msgID int64) error {
	return q.opts.Store.QueueDelete(ctx, msgID)
}

// job is one message to one domain: one SMTP transaction.
type job struct {
	msgID  int64
	domain string
	from   string
	rcpts  []store.QueueEntry
}

// Run delivers until ctx ends, then waits for deliveries in flight (each bounded by
// SessionTimeout and cancelled with ctx).
func (q *Queue) Run(ctx context.Context) error {
	defer q.wg.Wait()
	sem := make(chan struct{}, q.opts.Concurrency)
	done := make(chan struct{}, 1)
	for {
		jobs, err := q.due(ctx)
		if err != nil && ctx.Err() == nil {
			q.log.Error("read queue", "err", err)
		}
		for _, j := range jobs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			q.wg.Add(1)
			go func() {
				defer q.wg.Done()
				defer func() {
					<-sem
					q.release(j)
					select {
					case done <- struct{}{}:
					default:
					}
				}()
				q.deliver(ctx, j)
			}()
		}
		// Sleep until the next attempt falls due. Recipients already due are in flight
		// (or beyond this pass's batch): a finishing delivery wakes us through done.
		wait := time.Minute
		if next, ok, err := q.opts.Store.NextQueueAttempt(ctx); err == nil && ok {
			if d := next.Sub(q.opts.Now()); d > 0 && d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-q.kick:
		case <-done:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// due reads due recipients not already in flight and groups them per message and domain.
func (q *Queue) due(ctx context.Context) ([]*job, error) {
	entries, err := q.opts.Store.QueueDue(ctx, q.opts.Now(), 1000)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var jobs []*job
	byKey := map[string]*job{}
	for _, e := range entries {
		if q.inflight[e.ID] {
			continue
		}
		q.inflight[e.ID] = true
		key := fmt.Sprintf("%d/%s", e.MsgID, e.Domain)
		if q.opts.Smarthost != "" {
			key = fmt.Sprint(e.MsgID)
		}
		j := byKey[key]
		if j == nil {
			j = &job{msgID: e.MsgID, domain: e.Domain, from: e.From}
			byKey[key] = j
			jobs = append(jobs, j)
		}
		j.rcpts = append(j.rcpts, e)
	}
	return jobs, nil
}

func (q *Queue) release(j *job) {
	q.mu.Lock()
	for _, r := range j.rcpts {
		delete(q.inflight, r.ID)
	}
	q.mu.Unlock()
}

// backoff is the delay before the next attempt after n failed ones, with jitter.
func (q *Queue) backoff(n int) time.Duration {
	d := q.opts.RetryBase
	for i := 0; i < n && d < q.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, q.opts.RetryMax)
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// outcome is what happened to one recipient.
type outcome struct {
	entry     store.QueueEntry
	delivered bool
	permanent bool
	err       error  // the reason, for retry and bounce
	remote    string // the MTA that answered
}

func (q *Queue) deliver(ctx context.Context, j *job) {
	log := q.log.With("queue_id", j.msgID, "domain", j.domain)
	raw, err := q.opts.Store.QueueMessage(ctx, j.msgID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			log.Error("read queued message", "err", err)
		}
		return
	}
	send := raw
	if !q.opts.DisableDKIM {
		send = q.dkimSign(ctx, log, raw, j.from)
	}
	outs := q.attempt(ctx, log, j, send)
	if ctx.Err() != nil {
		// Shutting down: whatever was not recorded is retried after the restart.
		q.record(context.WithoutCancel(ctx), log, j, raw, outs, true)
		return
	}
	q.record(ctx, log, j, raw, outs, false)
}

// record stores the outcomes: deliveries first (so a later failure cannot undo them),
// then the permanent failures with their bounce, then the retries.
func (q *Queue) record(ctx context.Context, log *slog.Logger, j *job, raw []byte, outs []outcome, deliveredOnly bool) {
	var delivered []int64
	var failed []outcome
	for _, o := range outs {
		switch {
		case o.delivered:
			delivered = append(delivered, o.entry.ID)
			log.Info("delivered", "rcpt", o.entry.Rcpt, "remote", o.remote)
		case deliveredOnly:
		case o.permanent || q.opts.Now().Sub(o.entry.Created) >= q.opts.Expire:
			failed = append(failed, o)
		default:
			next := q.opts.Now().Add(q.backoff(o.entry.Attempts))
			log.Info("deferred", "rcpt", o.entry.Rcpt, "err", o.err, "next", next.Format(time.RFC3339))
			if err := q.opts.Store.QueueRetry(ctx, o.entry.ID, next, o.err.Error()); err != nil && !errors.Is(err, store.ErrNotFound) {
				log.Error("record retry", "err", err)
			}
		}
	}
	if len(delivered) > 0 {
		if err := q.opts.Store.QueueDone(ctx, delivered, nil); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Error("record delivery", "err", err)
		}
	}
	if len(failed) > 0 {
		q.bounce(ctx, log, j, raw, failed)
	}
}
