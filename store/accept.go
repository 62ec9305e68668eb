package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Accept stores a message received over SMTP in one mutation: an item in each local
// recipient's folder and, when out has recipients, a queue entry for the remote ones,
// all referencing one blob. It returns after the commit is durable (§2 invariant 6).
//
// The blob's write and fsyncs overlap the wait for the single writer: the blob is
// written by a goroutine started first, while the message is parsed and its mutation
// queued. When the writer reaches the mutation it checks the blob: durable, the
// mutation runs; failed, the mutation fails; still being written, the mutation gives
// its place up at once (nothing has been written in it) and is queued again once the
// blob is durable. So the commit that references the blob still follows its fsyncs
// (§2 Blobs), and the writer never waits on a file. Without the overlap a message's
// latency was the sum of three device flushes in a row.
func (s *Store) Accept(ctx context.Context, raw []byte, local []Recipient, out *Outbound) ([]Delivered, int64, error) {
	if out != nil && len(out.Recipients) == 0 {
		out = nil
	}
	if len(local) == 0 && out == nil {
		return nil, 0, fmt.Errorf("%w: no recipients", ErrInvalid)
	}
	if len(local) > 0 && s.opts.MaxMessageSize > 0 && int64(len(raw)) > s.opts.MaxMessageSize {
		return nil, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), s.opts.MaxMessageSize)
	}
	p := s.newPrepared(raw)
	if out != nil && out.Raw != nil {
		p.out = s.newPrepared(out.Raw)
	}
	job := &blobJob{done: make(chan struct{})}
	if p.inRow && (p.out == nil || p.out.inRow) {
		close(job.done) // no file to write: the bytes go in with the mutation
	} else {
		go job.run(s, p)
	}
	if len(local) > 0 {
		p.idx = indexMessage(raw) // while the blob is being written
	}

	var ds []Delivered
	var msgID int64
	fn := func(t *tx) error {
		select {
		case <-job.done:
			if job.err != nil {
				return job.err
			}
		default:
			s.accept.requeued.Add(1)
			return errBlobPending
		}
		var err error
		ds, msgID, err = t.accept(p, local, out)
		return err
	}
	for {
		// writeAccept rewrites the blob once if the collector removed an old
		// identical one between our check and the commit (see blobRef).
		err := s.writeAccept(ctx, p, fn)
		if errors.Is(err, errBlobPending) {
			<-job.done // fn cannot answer errBlobPending again
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		return ds, msgID, nil
	}
}

// errBlobPending: the mutation reached the writer before its blob was durable.
var errBlobPending = errors.New("store: blob not yet durable")

// acceptStats is what tests observe of Accept's pipelining.
type acceptStats struct {
	// requeued counts the mutations that reached the writer before their blob was
	// durable and were queued again.
	requeued atomic.Int64
	// blobHook, set by a test before any Accept, runs in the blob goroutine before it
	// writes.
	blobHook func()
}

// blobJob writes a prepared message's blobs; err is set before done is closed.
type blobJob struct {
	done chan struct{}
	err  error
}

func (j *blobJob) run(s *Store, p *prepared) {
	defer close(j.done)
	if s.accept.blobHook != nil {
		s.accept.blobHook()
	}
	for q := p; q != nil; q = q.out {
		if q.inRow || s.blobs.exists(q.hash) {
			continue
		}
		if err := s.blobs.write(q.hash, q.raw); err != nil {
			j.err = err
			return
		}
	}
}
