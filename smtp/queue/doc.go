// Package queue delivers Gatehouse's outbound mail: the durable queue kept in the
// store (store.Accept, QueueDue, QueueDone, QueueRetry), MX lookup with the implicit
// MX fallback (RFC 5321 5.1), opportunistic STARTTLS (RFC 7435), an optional
// smarthost, retries with exponential backoff until expiry, DSN bounces (RFC 3464)
// and DKIM signing (RFC 6376) with a per-domain key.
//
// Invariants:
//
//   - A recipient leaves the queue only in the mutation that records its outcome: its
//     delivery (after the remote 250), or its failure together with the bounce. A crash
//     in between re-sends to that recipient at most once more, and only when the remote
//     250 was not yet recorded.
//   - Never a bounce to the null sender (RFC 5321 4.5.5, 6.1): a failed bounce is
//     dropped and logged.
//   - The resolver, the port and the smarthost are options, so tests run an MX on
//     127.0.0.1 with no network.
package queue
