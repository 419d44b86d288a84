// Builds the standard-library packages the Go exercises' tests use, so that
// setup-polyglot.sh can ship their compiled form as a seed build cache.
package gocacheprobe

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

var _ = []any{bytes.NewBuffer, errors.New, fmt.Sprint, math.Abs, rand.Intn, reflect.DeepEqual, regexp.MustCompile,
	sort.Ints, strconv.Itoa, strings.ToUpper, sync.NewCond, time.Now, unicode.IsLetter, utf8.RuneLen}

func TestProbe(t *testing.T) {}
