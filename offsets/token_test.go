package offsets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const secret = "rt-5c1e0f9a-secret-refresh-token"

func TestTokenNeverShown(t *testing.T) {
	tok := Token{RefreshToken: secret, SeedHash: HashSeed(secret), SavedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	st := &State{token: tok, hasToken: true, summary: Summary{Token: true, TokenSavedAt: tok.SavedAt}}
	sealer := testSealer(t, testKey(7))

	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("token", "token", tok, "ptr", &tok, "state", st)
		l.Info("nested", slog.Any("wrapped", struct{ Tok Token }{tok}))
	}
	jsonTok, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	jsonNested, err := json.Marshal(struct{ Tok *Token }{&tok})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := TokenRecord("state", tok, sealer)
	if err != nil {
		t.Fatal(err)
	}

	outputs := map[string]string{
		"%v %+v":            fmt.Sprintf("%v %+v", tok, tok),
		"every verb":        fmt.Sprintf("%s %q %#v %d %x %X %t %10.3v", tok, tok, tok, tok, tok, tok, tok, tok),
		"pointer":           fmt.Sprintf("%v %+v %#v", &tok, &tok, &tok),
		"in a struct":       fmt.Sprintf("%v %+v %#v", struct{ Tok Token }{tok}, struct{ Tok Token }{tok}, struct{ Tok Token }{tok}),
		"in a slice":        fmt.Sprint([]Token{tok}),
		"state":             fmt.Sprintf("%v %+v %#v %s", st, st, st, st),
		"String":            tok.String(),
		"slog":              logs.String(),
		"json":              string(jsonTok) + string(jsonNested),
		"record value":      string(rec.Value),
		"record value, hex": hex.EncodeToString(rec.Value),
		"error":             fmt.Sprint(fmt.Errorf("save %v: %w", tok, errors.New("boom"))),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, secret) || strings.Contains(out, hex.EncodeToString([]byte(secret))) {
				t.Fatalf("the refresh token appears in %s", out)
			}
		})
	}
	t.Run("still useful", func(t *testing.T) {
		if !strings.Contains(outputs["%v %+v"], tok.SeedHash) || !strings.Contains(outputs["%v %+v"], redacted) {
			t.Errorf("%%v shows %q, want the seed hash and %q", outputs["%v %+v"], redacted)
		}
		if !strings.Contains(logs.String(), "has_refresh_token") {
			t.Errorf("slog output has no has_refresh_token: %s", logs.String())
		}
		if got := (Token{}).String(); strings.Contains(got, redacted) {
			t.Errorf("an empty token prints %q, want no redaction mark", got)
		}
	})
}

func TestSealerNeverShowsKey(t *testing.T) {
	key := testKey(42)
	s := testSealer(t, key)
	out := fmt.Sprintf("%v %+v %#v %s %x", s, s, s, s, s)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("sealer", "s", s)
	out += logs.String()
	for _, enc := range []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), fmt.Sprint(key)} {
		if strings.Contains(out, enc) {
			t.Fatalf("the key appears in %q", out)
		}
	}
}

func TestAESGCM(t *testing.T) {
	s := testSealer(t, testKey(1))
	other := testSealer(t, testKey(2))
	plain, ad := []byte("hello"), []byte("XK\x01Ttoken")

	a, err := s.Seal(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two seals of the same text are equal: the nonce is not random")
	}
	if bytes.Contains(a, plain) {
		t.Error("the sealed text contains the plaintext")
	}
	cases := []struct {
		name   string
		sealer Sealer
		sealed []byte
		ad     []byte
		ok     bool
	}{
		{"same key and data", s, a, ad, true},
		{"other key", other, a, ad, false},
		{"other additional data", s, a, []byte("XK\x01Tother"), false},
		{"altered", s, append(bytes.Clone(a[:len(a)-1]), a[len(a)-1]^1), ad, false},
		{"truncated", s, a[:10], ad, false},
		{"empty", s, nil, ad, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.sealer.Open(c.sealed, c.ad)
			if c.ok {
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("Open = %q, %v; want %q", got, err, plain)
				}
				return
			}
			if !errors.Is(err, ErrKeyMismatch) {
				t.Fatalf("Open error %v, want ErrKeyMismatch", err)
			}
		})
	}
	for _, n := range []int{0, 16, 24, 31, 33} {
		key := bytes.Repeat([]byte{0xab}, n)
		_, err := NewAESGCM(key)
		if err == nil {
			t.Errorf("NewAESGCM accepted a %d-byte key", n)
		} else if n > 0 && strings.Contains(err.Error(), hex.EncodeToString(key)) {
			t.Errorf("NewAESGCM error shows the key: %v", err)
		}
	}
}

func TestDecodeTokenErrors(t *testing.T) {
	s := testSealer(t, testKey(3))
	seal := func(plain string) value {
		v := value{version: formatVersion, kind: kindToken}
		sealed, err := s.Seal([]byte(plain), tokenAD(v, tokenKey))
		if err != nil {
			t.Fatal(err)
		}
		v.data = sealed
		return v
	}
	cases := []struct {
		name  string
		v     value
		key   string
		msg   string
		isErr error
	}{
		{"not JSON", seal("x" + secret), tokenKey, "not valid JSON", nil},
		{"empty token", seal(`{"refresh_token":""}`), tokenKey, "empty", nil},
		{"under another key", seal(`{"refresh_token":"` + secret + `"}`), "token2", "decrypt token", ErrKeyMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeToken(c.v, c.key, s)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("decodeToken: %v, want an error containing %q", err, c.msg)
			}
			if c.isErr != nil && !errors.Is(err, c.isErr) {
				t.Errorf("error %v is not %v", err, c.isErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestTokenRecordArguments(t *testing.T) {
	s := testSealer(t, testKey(1))
	cases := []struct {
		name   string
		topic  string
		tok    Token
		sealer Sealer
	}{
		{"no topic", "", Token{RefreshToken: secret}, s},
		{"no sealer", "state", Token{RefreshToken: secret}, nil},
		{"no token", "state", Token{SeedHash: "x"}, s},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := TokenRecord(c.topic, c.tok, c.sealer)
			if err == nil {
				t.Fatal("TokenRecord succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func TestHashSeed(t *testing.T) {
	// sha256("abc"), FIPS 180-2 appendix B.1.
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := HashSeed("abc"); got != want {
		t.Fatalf("HashSeed(abc) = %s, want %s", got, want)
	}
	if HashSeed("a") == HashSeed("b") {
		t.Fatal("different tokens hash the same")
	}
}

func TestParseKey(t *testing.T) {
	key := testKey(9)
	cases := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hex.EncodeToString(key), true},
		{"upper hex with spaces", " " + strings.ToUpper(hex.EncodeToString(key)) + "\n", true},
		{"base64", base64.StdEncoding.EncodeToString(key), true},
		{"raw base64", base64.RawStdEncoding.EncodeToString(key), true},
		{"short hex", hex.EncodeToString(key[:31]), false},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(key[:31]), false},
		{"not hex", strings.Repeat("z", 64), false},
		{"empty", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseKey(c.in)
			if !c.ok {
				if err == nil {
					t.Fatalf("ParseKey accepted %q", c.in)
				}
				if c.in != "" && strings.Contains(err.Error(), strings.TrimSpace(c.in)) {
					t.Fatalf("the error quotes the key: %v", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("ParseKey = %x, %v; want %x", got, err, key)
			}
		})
	}
}
