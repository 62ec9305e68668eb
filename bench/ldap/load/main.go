// Command load drives an LDAP server with Thunderbird's address-book search for
// bench/ldap/run.sh. The requests are encoded once up front (one SearchRequest per term,
// with go-asn1-ber) and only their envelope, which carries the message ID, is written per
// request, on raw TCP connections after one simple bind; the responses are walked at the
// BER framing level until SearchResultDone. A client library's encoding and decoding
// (go-ldap's costs more CPU than slapd does) would otherwise be what is measured.
//
//	load -addr 127.0.0.1:389 -bind-dn DN -pass-file F -base dc=example,dc=org -terms F
//
// Each of -conns connections runs one search at a time, back to back, for -duration,
// cycling through the terms from its own offset. The result is one line:
//
//	RESULT searches=… rate=… entries_per_search=… p50_ms=… p99_ms=… errors=…
//
// With -verify it instead runs every term once over one connection and writes
// "term entries code" per term to stdout, so that two servers' answers can be compared.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

var (
	addr      = flag.String("addr", "127.0.0.1:389", "server")
	bindDN    = flag.String("bind-dn", "", "simple bind DN")
	passFile  = flag.String("pass-file", "", "file whose first line is the password")
	base      = flag.String("base", "dc=example,dc=org", "search base (subtree)")
	termsFile = flag.String("terms", "", "search terms, one a line")
	termList  = flag.String("term", "", "a single search term instead of -terms")
	conns     = flag.Int("conns", 8, "concurrent connections, one search in flight each")
	duration  = flag.Duration("duration", 20*time.Second, "how long to search")
	sizeLimit = flag.Int("size-limit", 100, "size limit of each search")
	attrs     = flag.String("attrs", "cn,mail,givenName,sn,displayName,title,telephoneNumber,mobile,o,ou",
		"requested attributes, comma-separated")
	verify = flag.Bool("verify", false, "run each term once and print its entry count and result code")
)

// Application tags of the LDAP protocolOps read and written here (RFC 4511 4.2–4.5).
const (
	tagBindRequest      = 0
	tagBindResponse     = 0x61
	tagSearchRequest    = 3
	tagSearchEntry      = 0x64
	tagSearchDone       = 0x65
	tagSearchReference  = 0x73
	resultSuccess       = 0
	resultSizeLimitExcd = 4
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	terms := loadTerms()
	ops := make([][]byte, len(terms))
	for i, t := range terms {
		ops[i] = searchOp(t)
	}
	pw := ""
	if *passFile != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			log.Fatal(err)
		}
		pw = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	if *verify {
		c, err := dial(pw)
		if err != nil {
			log.Fatal(err)
		}
		for i, op := range ops {
			n, code, err := c.search(op)
			if err != nil {
				log.Fatalf("term %q: %v", terms[i], err)
			}
			fmt.Printf("%s %d %d\n", terms[i], n, code)
		}
		return
	}
	run(ops, pw)
}

func loadTerms() []string {
	if *termList != "" {
		return []string{*termList}
	}
	b, err := os.ReadFile(*termsFile)
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		log.Fatal("no terms")
	}
	return out
}

// searchOp encodes Thunderbird's address-book SearchRequest for term:
// (|(cn=*t*)(mail=*t*)(sn=*t*)(givenName=*t*)), subtree, size limit, no time limit.
func searchOp(term string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagSearchRequest, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, *base, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 2, ""))       // wholeSubtree
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))       // neverDerefAliases
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, *sizeLimit, "")) // sizeLimit
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))          // timeLimit
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))      // typesOnly
	or := ber.Encode(ber.ClassContext, ber.TypeConstructed, 1, nil, "")
	for _, a := range []string{"cn", "mail", "sn", "givenName"} {
		sub := ber.Encode(ber.ClassContext, ber.TypeConstructed, 4, nil, "") // substrings
		sub.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
		seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
		seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, term, "")) // any
		sub.AppendChild(seq)
		or.AppendChild(sub)
	}
	op.AppendChild(or)
	al := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range strings.Split(*attrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			al.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
		}
	}
	op.AppendChild(al)
	return op.Bytes()
}

func bindOp(dn, pw string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tagBindRequest, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, "")) // simple
	return op.Bytes()
}

// appendLength appends a BER definite length.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendMessage appends LDAPMessage { messageID, op } with id in 4 bytes, the op as is.
func appendMessage(b []byte, id uint32, op []byte) []byte {
	b = append(b, 0x30)
	b = appendLength(b, 6+len(op))
	b = append(b, 0x02, 4, byte(id>>24&0x7f), byte(id>>16), byte(id>>8), byte(id))
	return append(b, op...)
}

type client struct {
	nc  net.Conn
	r   *bufio.Reader
	out []byte
	in  []byte
	id  uint32
}

func dial(pw string) (*client, error) {
	nc, err := net.Dial("tcp", *addr)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
	if *bindDN == "" {
		return c, nil
	}
	c.id++
	if _, err := nc.Write(appendMessage(nil, c.id, bindOp(*bindDN, pw))); err != nil {
		return nil, err
	}
	tag, body, err := c.read()
	if err != nil {
		return nil, err
	}
	if code := resultCode(body); tag != tagBindResponse || code != resultSuccess {
		return nil, fmt.Errorf("bind as %s: tag %#x result %d", *bindDN, tag, code)
	}
	return c, nil
}

// read reads one LDAPMessage and returns its protocolOp's tag and contents.
func (c *client) read() (byte, []byte, error) {
	hdr, err := c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	if hdr != 0x30 {
		return 0, nil, fmt.Errorf("message tag %#x", hdr)
	}
	n, err := readLength(c.r)
	if err != nil {
		return 0, nil, err
	}
	if cap(c.in) < n {
		c.in = make([]byte, n)
	}
	msg := c.in[:n]
	if _, err := io.ReadFull(c.r, msg); err != nil {
		return 0, nil, err
	}
	// messageID INTEGER, then the protocolOp.
	if len(msg) < 2 || msg[0] != 0x02 || int(msg[1])+2 > len(msg) {
		return 0, nil, errors.New("bad messageID")
	}
	rest := msg[2+int(msg[1]):]
	if len(rest) < 2 {
		return 0, nil, errors.New("no protocolOp")
	}
	tag := rest[0]
	l, skip, err := lengthOf(rest[1:])
	if err != nil || 1+skip+l > len(rest) {
		return 0, nil, fmt.Errorf("bad protocolOp length")
	}
	return tag, rest[1+skip : 1+skip+l], nil
}

func readLength(r *bufio.Reader) (int, error) {
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if b < 0x80 {
		return int(b), nil
	}
	k := int(b & 0x7f)
	if k == 0 || k > 4 {
		return 0, fmt.Errorf("length of %d bytes", k)
	}
	n := 0
	for range k {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | int(b)
	}
	return n, nil
}

func lengthOf(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("short")
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 4 || len(b) < 1+k {
		return 0, 0, errors.New("bad length")
	}
	for _, x := range b[1 : 1+k] {
		n = n<<8 | int(x)
	}
	return n, 1 + k, nil
}

// resultCode reads the resultCode ENUMERATED that starts an LDAPResult.
func resultCode(body []byte) int {
	if len(body) < 3 || body[0] != 0x0a || body[1] < 1 || int(body[1])+2 > len(body) {
		return -1
	}
	code := 0
	for _, x := range body[2 : 2+int(body[1])] {
		code = code<<8 | int(x)
	}
	return code
}

// search sends one pre-encoded SearchRequest and reads up to SearchResultDone.
func (c *client) search(op []byte) (entries, code int, err error) {
	c.id++
	c.out = appendMessage(c.out[:0], c.id, op)
	if _, err := c.nc.Write(c.out); err != nil {
		return 0, 0, err
	}
	for {
		tag, body, err := c.read()
		if err != nil {
			return entries, 0, err
		}
		switch tag {
		case tagSearchEntry:
			entries++
		case tagSearchReference:
		case tagSearchDone:
			return entries, resultCode(body), nil
		default:
			return entries, 0, fmt.Errorf("unexpected response tag %#x", tag)
		}
	}
}

type tally struct {
	searches, entries, errors int
	lat                       []time.Duration
	firstErr                  error
}

func run(ops [][]byte, pw string) {
	clients := make([]*client, *conns)
	for i := range clients {
		c, err := dial(pw)
		if err != nil {
			log.Fatal(err)
		}
		clients[i] = c
	}
	tallies := make([]tally, len(clients))
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(*duration)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := &tallies[i]
			t.lat = make([]time.Duration, 0, 1<<16)
			k := i * len(ops) / len(clients)
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				n, code, err := c.search(ops[k%len(ops)])
				k++
				if err != nil {
					t.errors++
					t.firstErr = err
					return
				}
				if code != resultSuccess && code != resultSizeLimitExcd {
					t.errors++
					if t.firstErr == nil {
						t.firstErr = fmt.Errorf("result code %d", code)
					}
					continue
				}
				t.lat = append(t.lat, time.Since(t0))
				t.searches++
				t.entries += n
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var sum tally
	for _, t := range tallies {
		sum.searches += t.searches
		sum.entries += t.entries
		sum.errors += t.errors
		sum.lat = append(sum.lat, t.lat...)
		if t.firstErr != nil && sum.firstErr == nil {
			sum.firstErr = t.firstErr
		}
	}
	for _, c := range clients {
		c.nc.Close()
	}
	if sum.firstErr != nil {
		log.Printf("first error: %v", sum.firstErr)
	}
	sort.Slice(sum.lat, func(i, j int) bool { return sum.lat[i] < sum.lat[j] })
	pct := func(p float64) float64 {
		if len(sum.lat) == 0 {
			return 0
		}
		return float64(sum.lat[int(p*float64(len(sum.lat)-1))]) / 1e6
	}
	per := 0.0
	if sum.searches > 0 {
		per = float64(sum.entries) / float64(sum.searches)
	}
	fmt.Printf("RESULT searches=%d seconds=%.2f rate=%.1f entries_per_search=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
		sum.searches, elapsed.Seconds(), float64(sum.searches)/elapsed.Seconds(), per, pct(0.50), pct(0.99), sum.errors)
}
