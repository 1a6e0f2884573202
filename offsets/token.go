package offsets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Token is the refresh token of Xero's single-use chain, as last committed.
//
// RefreshToken is a secret: String, GoString, Format (every fmt verb), LogValue and MarshalJSON
// all redact it. Read the field itself where the token is needed.
type Token struct {
	RefreshToken string    // secret
	SeedHash     string    // hex SHA-256 (HashSeed) of the environment token that seeded the chain
	SavedAt      time.Time // when it was written
}

const redacted = "[redacted]"

func redact(s string) string {
	if s == "" {
		return ""
	}
	return redacted
}

// String describes t with RefreshToken redacted.
func (t Token) String() string {
	return fmt.Sprintf("Token{RefreshToken:%s SeedHash:%s SavedAt:%s}",
		redact(t.RefreshToken), t.SeedHash, t.SavedAt.Format(time.RFC3339Nano))
}

// GoString is String, so %#v redacts too.
func (t Token) GoString() string { return t.String() }

// Format writes String for every verb (%v, %+v, %s, %d, ...): no verb prints the fields raw.
func (t Token) Format(f fmt.State, _ rune) { io.WriteString(f, t.String()) }

// LogValue says whether a refresh token is present, never what it is.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Bool("has_refresh_token", t.RefreshToken != ""),
		slog.String("seed_hash", t.SeedHash),
		slog.Time("saved_at", t.SavedAt),
	)
}

// MarshalJSON writes t with RefreshToken redacted (for status pages and debug dumps). The state
// topic stores the token through a private encoding, not this one.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RefreshToken string
		SeedHash     string
		SavedAt      time.Time
	}{redact(t.RefreshToken), t.SeedHash, t.SavedAt})
}

// HashSeed returns the hex SHA-256 of a refresh token given in the environment. The caller keeps it
// in Token.SeedHash to tell, at the next start, whether the environment still holds the token that
// seeded the chain (then the stored token wins) or a new one (then the new one seeds the chain).
func HashSeed(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenJSON is how a token is stored, inside the sealed box.
type tokenJSON struct {
	RefreshToken string    `json:"refresh_token"`
	SeedHash     string    `json:"seed_hash,omitempty"`
	SavedAt      time.Time `json:"saved_at"`
}

// Sealer encrypts and authenticates the stored token. additionalData is authenticated but not
// encrypted: the value header and the record key, so a sealed token cannot be moved to another key
// or passed off under another format version.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// KeySize is the length of a state key: AES-256.
const KeySize = 32

// NewAESGCM returns a Sealer using AES-256-GCM with key, which must be KeySize bytes. Each Seal
// draws a random 96-bit nonce and puts it before the ciphertext. The key is never logged or printed.
func NewAESGCM(key []byte) (Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("state key: %d bytes, want %d (AES-256)", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("state key: %w", err)
	}
	return aesGCM{aead: aead}, nil
}

// ParseKey reads a state key as given in the environment: 64 hex digits, or the standard base64
// (with or without padding) of 32 bytes. Errors never quote the text.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	if key, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil && len(key) == KeySize {
		return key, nil
	}
	return nil, fmt.Errorf("state key: %d characters, want %d hex digits or the base64 of %d bytes", len(s), 2*KeySize, KeySize)
}

type aesGCM struct{ aead cipher.AEAD }

func (a aesGCM) Seal(plaintext, additionalData []byte) ([]byte, error) {
	return a.aead.Seal(nil, nil, plaintext, additionalData), nil
}

func (a aesGCM) Open(sealed, additionalData []byte) ([]byte, error) {
	plain, err := a.aead.Open(nil, nil, sealed, additionalData)
	if err != nil {
		return nil, ErrKeyMismatch
	}
	return plain, nil
}

// String, GoString and Format keep the cipher's state (the expanded key) out of any printout.
func (aesGCM) String() string               { return "AES-256-GCM" }
func (a aesGCM) GoString() string           { return a.String() }
func (a aesGCM) Format(f fmt.State, _ rune) { io.WriteString(f, a.String()) }

// TokenRecord returns the record that stores t, sealed with s, under the key "token". Produce it in
// a transaction of its own and wait for the commit before using the access token that came with it.
//
// t.SeedHash is stored twice: inside the sealed box, and in clear next to it (bound to it as
// additional data), so that a start whose state key cannot open the box can still tell whether the
// environment holds a new token (State.CheckSeed). It is the hash of a used-up token, not a secret.
func TokenRecord(topic string, t Token, s Sealer) (*kgo.Record, error) {
	switch {
	case topic == "":
		return nil, errors.New("token record: empty topic name")
	case s == nil:
		return nil, errors.New("token record: no sealer")
	case t.RefreshToken == "":
		return nil, errors.New("token record: empty refresh token")
	case t.SeedHash != "" && (len(t.SeedHash) != seedHashSize || strings.Trim(t.SeedHash, "0123456789abcdef") != ""):
		return nil, errors.New("token record: the seed hash is not a HashSeed value")
	}
	plain, err := json.Marshal(tokenJSON{RefreshToken: t.RefreshToken, SeedHash: t.SeedHash, SavedAt: t.SavedAt})
	if err != nil {
		return nil, fmt.Errorf("token record: encode: %w", err)
	}
	v := value{version: writeVersion(kindToken), kind: kindToken, seedHash: t.SeedHash}
	v.data, err = s.Seal(plain, tokenAD(v, tokenKey))
	if err != nil {
		return nil, fmt.Errorf("token record: seal: %w", err)
	}
	return &kgo.Record{Topic: topic, Key: []byte(tokenKey), Value: appendValue(nil, v)}, nil
}

// tokenAD is the additional data bound to a sealed token: the value header (magic, format version,
// kind), the record key and, from version 2, the seed hash written in clear.
func tokenAD(v value, key string) []byte {
	ad := append(appendHeader(make([]byte, 0, hdrSize+len(key)+len(v.seedHash)), v.version, kindToken), key...)
	if v.version >= 2 {
		ad = append(ad, v.seedHash...)
	}
	return ad
}

// decodeToken opens a token value read under key.
func decodeToken(v value, key string, s Sealer) (Token, error) {
	plain, err := s.Open(v.data, tokenAD(v, key))
	if err != nil {
		return Token{}, fmt.Errorf("decrypt token: %w", err)
	}
	var tj tokenJSON
	if err := json.Unmarshal(plain, &tj); err != nil {
		// The plaintext is the secret: say only that it is malformed.
		return Token{}, errors.New("decode token: the decrypted token is not valid JSON")
	}
	if tj.RefreshToken == "" {
		return Token{}, errors.New("decode token: the decrypted token is empty")
	}
	if v.version >= 2 && tj.SeedHash != v.seedHash {
		return Token{}, errors.New("decode token: the seed hash inside the sealed token differs from the one beside it")
	}
	return Token{RefreshToken: tj.RefreshToken, SeedHash: tj.SeedHash, SavedAt: tj.SavedAt}, nil
}
