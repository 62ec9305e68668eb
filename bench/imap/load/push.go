package main

import (
	"flag"
	"fmt"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	gosmtp "github.com/emersion/go-smtp"
)

var (
	smtpAddr = flag.String("smtp", "", "push: the server's SMTP (MX) HOST:PORT")
	rcpt     = flag.String("rcpt", "", "push: the address the messages go to (default: -user)")
)

// runPush measures how soon a message delivered over SMTP reaches an IDLEing client as
// EXISTS: one connection SELECTs INBOX and IDLEs; -n messages are sent one after the
// other over one SMTP connection, each once the previous one was announced. Reported
// from the MAIL command (so including the delivery's durable commit) and from the 250
// that ends DATA (EXISTS may come first: the store announces a commit to its readers and
// the SMTP session answers at the same moment; such a sample counts as 0).
func runPush() error {
	if *smtpAddr == "" {
		return fmt.Errorf("push needs -smtp")
	}
	to := *rcpt
	if to == "" {
		to = *user
	}
	exists := make(chan uint32, 64)
	c, err := imapclient.DialInsecure(*addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		return err
	}
	if err := login(c); err != nil {
		return err
	}
	defer logout(c)
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return fmt.Errorf("SELECT: %w", err)
	}
	have := sel.NumMessages
	idle, err := c.Idle()
	if err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	sc, err := gosmtp.Dial(*smtpAddr)
	if err != nil {
		return err
	}
	defer sc.Close()
	var fromMail, fromAck []float64
	for i := range *n {
		msg := message(*first + i)
		start := time.Now()
		if err := sc.Mail("push@example.net", nil); err != nil {
			return fmt.Errorf("MAIL %d: %w", i, err)
		}
		if err := sc.Rcpt(to, nil); err != nil {
			return fmt.Errorf("RCPT %d: %w", i, err)
		}
		w, err := sc.Data()
		if err != nil {
			return fmt.Errorf("DATA %d: %w", i, err)
		}
		if _, err := w.Write(msg); err != nil {
			return fmt.Errorf("DATA %d: %w", i, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("DATA %d: %w", i, err)
		}
		acked := time.Now()
		var arrived time.Time
		for arrived.IsZero() {
			select {
			case num := <-exists:
				if num > have {
					have, arrived = num, time.Now()
				}
			case <-time.After(10 * time.Second):
				return fmt.Errorf("message %d: no EXISTS within 10 s", i)
			}
		}
		fromMail = append(fromMail, arrived.Sub(start).Seconds())
		fromAck = append(fromAck, max(0, arrived.Sub(acked).Seconds()))
	}
	if err := idle.Close(); err != nil {
		return err
	}
	if err := idle.Wait(); err != nil {
		return err
	}
	fmt.Printf("RESULT test=push n=%d from_mail_p50=%.5f from_mail_p99=%.5f from_mail_max=%.5f from_ack_p50=%.5f from_ack_p99=%.5f from_ack_max=%.5f\n",
		len(fromMail), pct(fromMail, .5), pct(fromMail, .99), pct(fromMail, 1), pct(fromAck, .5), pct(fromAck, .99), pct(fromAck, 1))
	return nil
}

// pct is the p-th quantile of xs (nearest rank).
func pct(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
