package scheduler

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString returns n characters drawn uniformly from alphabet with crypto/rand.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// newToken returns a 32-character alphanumeric token (about 190 bits).
func newToken() string { return randomString(32, alnum) }

// HashToken returns the hex SHA-256 of a token, the only form in which tokens are stored.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func hashEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// newUUID returns a random version 4 UUID string.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// classRun matches one "[class]{n}" or "[class]{n,m}" or "[class]" unit of a simple pattern.
var classRun = regexp.MustCompile(`^\[([^\]]+)\](?:\{(\d+)(?:,(\d+))?\}|(\+|\*))?`)

// generateFrom returns a random string matching a simple pattern made of literal
// characters and character classes with counts, such as `[a-z0-9]{8}` or `user-[0-9]{4}`.
// Patterns it cannot read give a random 16-character alphanumeric string.
func generateFrom(pattern string) string {
	p := strings.TrimSuffix(strings.TrimPrefix(pattern, "^"), "$")
	var out strings.Builder
	for p != "" {
		if m := classRun.FindStringSubmatch(p); m != nil {
			set := expandClass(m[1])
			if set == "" {
				return newToken()[:16]
			}
			n := 1
			switch {
			case m[2] != "":
				n, _ = strconv.Atoi(m[2])
				if m[3] != "" {
					hi, _ := strconv.Atoi(m[3])
					if hi > n {
						n = hi
					}
				}
			case m[4] != "":
				n = 8
			}
			if n > 256 {
				n = 256
			}
			out.WriteString(randomString(n, set))
			p = p[len(m[0]):]
			continue
		}
		c := p[0]
		if strings.ContainsRune(`\.()|?*+{}`, rune(c)) {
			return newToken()[:16]
		}
		out.WriteByte(c)
		p = p[1:]
	}
	return out.String()
}

func expandClass(c string) string {
	if strings.HasPrefix(c, "^") {
		return ""
	}
	var set strings.Builder
	for i := 0; i < len(c); i++ {
		if i+2 < len(c) && c[i+1] == '-' {
			for ch := c[i]; ch <= c[i+2]; ch++ {
				set.WriteByte(ch)
				if ch == 255 {
					break
				}
			}
			i += 2
			continue
		}
		set.WriteByte(c[i])
	}
	return set.String()
}
