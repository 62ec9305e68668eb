// Command people generates the address book of the LDAP benchmark (bench/ldap/run.sh):
// the same N inetOrgPerson entries as an LDIF file for OpenLDAP's slapadd and, written
// straight into a Gatehouse data directory that no server has open, as accounts with
// address-book attributes. It also draws the search terms both servers are asked for.
//
//	go run ./bench/ldap/people -ldif people.ldif -store DATA -terms mix.txt -password-file pw
//
// The people are deterministic (seeded), so two runs load the same entries. Every
// account gets the same password hash, computed once: 10,000 argon2id hashes would take
// minutes and are not what is measured.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

var (
	count        = flag.Int("n", 10000, "people")
	seed         = flag.Uint64("seed", 1, "random seed for the people and the terms")
	domain       = flag.String("domain", "example.org", "mail domain; the LDAP suffix is its dc= form")
	ldifPath     = flag.String("ldif", "", "write the entries, with the suffix and ou=people, as LDIF here")
	storeDir     = flag.String("store", "", "create the accounts in this Gatehouse data directory")
	termsPath    = flag.String("terms", "", "write the mixed 2- to 5-letter search terms here, one a line")
	termCount    = flag.Int("terms-n", 2000, "mixed terms to draw")
	passwordFile = flag.String("password-file", "", "the bind user's password (first line); the bind user is the first person")
)

var givenNames = strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa
Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul
Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa
Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia
Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry
Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory
Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis
Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia`)

var surnames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez
Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee
Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King
Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell
Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly
Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza
Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell`)

var titles = []string{"Engineer", "Senior Engineer", "Accountant", "Sales Manager", "Analyst",
	"Office Manager", "Designer", "Support Specialist", "Director", "Consultant"}

// person is one generated address-book entry.
type person struct {
	uid, given, sur, title, phone string
}

func (p person) cn() string { return p.given + " " + p.sur }

func main() {
	flag.Parse()
	log.SetFlags(0)
	r := rand.New(rand.NewPCG(*seed, 0x1dab))
	people := generate(r, *count)
	if *ldifPath != "" {
		if err := writeLDIF(*ldifPath, people, password()); err != nil {
			log.Fatal(err)
		}
	}
	if *termsPath != "" {
		if err := writeTerms(*termsPath, drawTerms(r, people, *termCount)); err != nil {
			log.Fatal(err)
		}
	}
	if *storeDir != "" {
		if err := fillStore(context.Background(), *storeDir, people, password()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("bind_uid=%s n=%d\n", people[0].uid, len(people))
}

func password() string {
	if *passwordFile == "" {
		return ""
	}
	b, err := os.ReadFile(*passwordFile)
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
}

// generate makes n people with unique uids (given.surname, numbered on a clash), sorted
// by uid as Gatehouse's address list is.
func generate(r *rand.Rand, n int) []person {
	seen := map[string]int{}
	out := make([]person, 0, n)
	for range n {
		p := person{given: givenNames[r.IntN(len(givenNames))], sur: surnames[r.IntN(len(surnames))]}
		base := strings.ToLower(p.given + "." + p.sur)
		seen[base]++
		p.uid = base
		if k := seen[base]; k > 1 {
			p.uid = fmt.Sprintf("%s%d", base, k)
		}
		p.title = titles[r.IntN(len(titles))]
		p.phone = fmt.Sprintf("+1 555 %04d", r.IntN(10000))
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

func suffix() string {
	parts := strings.Split(*domain, ".")
	for i, p := range parts {
		parts[i] = "dc=" + p
	}
	return strings.Join(parts, ",")
}

func writeLDIF(path string, people []person, pw string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	sfx := suffix()
	first := strings.SplitN(*domain, ".", 2)[0]
	fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n\n", sfx, first, *domain)
	fmt.Fprintf(w, "dn: ou=people,%s\nobjectClass: top\nobjectClass: organizationalUnit\nou: people\n\n", sfx)
	for i, p := range people {
		fmt.Fprintf(w, "dn: uid=%s,ou=people,%s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\n", p.uid, sfx)
		fmt.Fprintf(w, "uid: %s\ncn: %s\nsn: %s\ngivenName: %s\ndisplayName: %s\nmail: %s@%s\ntitle: %s\ntelephoneNumber: %s\n",
			p.uid, p.cn(), p.sur, p.given, p.cn(), p.uid, *domain, p.title, p.phone)
		if i == 0 && pw != "" {
			fmt.Fprintf(w, "userPassword: %s\n", pw) // slapd compares a cleartext value
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// drawTerms picks substrings of 2 to 5 letters from the values Thunderbird's filter
// searches (cn, mail, sn, givenName) of random people, lower-cased.
func drawTerms(r *rand.Rand, people []person, n int) []string {
	out := make([]string, 0, n)
	for len(out) < n {
		p := people[r.IntN(len(people))]
		var v string
		switch r.IntN(4) {
		case 0:
			v = p.cn()
		case 1:
			v = p.uid + "@" + *domain
		case 2:
			v = p.sur
		default:
			v = p.given
		}
		size := 2 + r.IntN(4)
		if len(v) < size {
			continue
		}
		at := r.IntN(len(v) - size + 1)
		t := strings.ToLower(v[at : at+size])
		if strings.IndexFunc(t, func(c rune) bool { return !unicode.IsLetter(c) }) >= 0 {
			continue
		}
		out = append(out, t)
	}
	return out
}

func writeTerms(path string, terms []string) error {
	return os.WriteFile(path, []byte(strings.Join(terms, "\n")+"\n"), 0o644)
}

// fillStore creates the domain and one account per person, all with one password hash.
func fillStore(ctx context.Context, dir string, people []person, pw string) error {
	if pw == "" {
		return fmt.Errorf("-store needs -password-file")
	}
	hash, err := directory.HashPassword(pw)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{Dir: dir})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.AddDomain(ctx, *domain); err != nil {
		return err
	}
	for _, p := range people {
		_, err := st.CreateAccount(ctx, store.NewAccount{
			Email:        p.uid + "@" + *domain,
			PasswordHash: hash,
			Attributes: store.Attributes{
				DisplayName: p.cn(), GivenName: p.given, Surname: p.sur, Title: p.title, Phone: p.phone,
			},
		})
		if err != nil {
			return fmt.Errorf("account %s: %w", p.uid, err)
		}
	}
	return st.Close()
}
