// Command porcupinebench times Porcupine's CheckOperations on histories exported by
// dscourse.checkers.linearizability_json (our code; Porcupine itself is read from ./.cache,
// see benchmarks/README.md).
//
// Usage: porcupinebench [-repeat N] [-timeout D] FILE.json...
// For each file it prints one JSON line: {"file", "model", "ops", "verdict", "seconds"};
// verdict is "ok", "illegal" or "unknown" (Porcupine's timeout), seconds the best of N runs.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"
)

// exported is the file format of dscourse.checkers.linearizability_json.
type exported struct {
	Format     string      `json:"format"`
	Model      string      `json:"model"`
	Operations []operation `json:"operations"`
}

type operation struct {
	Client  int               `json:"client"`
	Call    int64             `json:"call"`
	Ret     *int64            `json:"ret"` // null: never returned
	Input   []json.RawMessage `json:"input"`
	Output  json.RawMessage   `json:"output"`
	Unknown bool              `json:"unknown"`
}

// registerInput: a read, write or cas; values are kept as their JSON text, so any JSON
// scalar compares by value.
type registerInput struct {
	op        string
	arg, arg2 string
}

type registerOutput struct {
	value   string // a read's value (JSON text)
	swapped bool   // a cas's result
	unknown bool
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// registerModel is a read/write register with compare-and-set, like dscourse's
// cas_register (and the etcd model of Porcupine's tests).
var registerModel = porcupine.Model{
	Init: func() interface{} { return "null" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(string)
		in := input.(registerInput)
		out := output.(registerOutput)
		switch in.op {
		case "read":
			return out.unknown || out.value == st, st
		case "write":
			return true, in.arg
		default: // cas
			swapped := st == in.arg
			next := st
			if swapped {
				next = in.arg2
			}
			return out.unknown || out.swapped == swapped, next
		}
	},
	Hash: func(state interface{}) uint64 { return hashString(state.(string)) },
}

// intRegisterModel is registerModel over integers (null is math.MinInt64), used when every
// value in a history is an integer: the state representation of the etcd model in
// Porcupine's own tests, so Porcupine runs as fast as it does there.
var intRegisterModel = porcupine.Model{
	Init: func() interface{} { return int64(math.MinInt64) },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(int64)
		in := input.(intRegisterInput)
		out := output.(intRegisterOutput)
		switch in.op {
		case 0: // read
			return out.unknown || out.value == st, st
		case 1: // write
			return true, in.arg
		default: // cas
			swapped := st == in.arg
			next := st
			if swapped {
				next = in.arg2
			}
			return out.unknown || out.swapped == swapped, next
		}
	},
}

type intRegisterInput struct {
	op        uint8
	arg, arg2 int64
}

type intRegisterOutput struct {
	value   int64
	swapped bool
	unknown bool
}

func asInt(s string) (int64, bool) {
	if s == "null" || s == "" {
		return math.MinInt64, true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// integers converts a register history to intRegisterModel's types, if every value is an
// integer or null.
func integers(ops []porcupine.Operation) ([]porcupine.Operation, bool) {
	out := make([]porcupine.Operation, len(ops))
	codes := map[string]uint8{"read": 0, "write": 1, "cas": 2}
	for k, o := range ops {
		in := o.Input.(registerInput)
		res := o.Output.(registerOutput)
		a, ok1 := asInt(in.arg)
		b, ok2 := asInt(in.arg2)
		v, ok3 := asInt(res.value)
		if !(ok1 && ok2 && ok3) {
			return nil, false
		}
		o.Input = intRegisterInput{op: codes[in.op], arg: a, arg2: b}
		o.Output = intRegisterOutput{value: v, swapped: res.swapped, unknown: res.unknown}
		out[k] = o
	}
	return out, true
}

type kvInput struct {
	op, key, value string
}

type kvOutput struct {
	value   string
	unknown bool
}

// kvModel is one key of a key-value store with get, put and append (Porcupine's kvModel,
// with outputs of unknown outcome); partitioned by key.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		m := make(map[string][]porcupine.Operation)
		for _, v := range history {
			key := v.Input.(kvInput).key
			m[key] = append(m[key], v)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ret := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			ret = append(ret, m[k])
		}
		return ret
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(string)
		in := input.(kvInput)
		out := output.(kvOutput)
		switch in.op {
		case "get":
			return out.unknown || out.value == st, st
		case "put":
			return true, in.value
		default: // append
			return true, st + in.value
		}
	},
	Hash: func(state interface{}) uint64 { return hashString(state.(string)) },
}

func text(raw json.RawMessage) string { return string(raw) }

func str(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		panic(fmt.Sprintf("not a string: %s", raw))
	}
	return s
}

func convert(h exported) (porcupine.Model, []porcupine.Operation) {
	ops := make([]porcupine.Operation, 0, len(h.Operations))
	var model porcupine.Model
	for _, o := range h.Operations {
		ret := int64(math.MaxInt64)
		if o.Ret != nil {
			ret = *o.Ret
		}
		op := str(o.Input[0])
		var in, out interface{}
		switch h.Model {
		case "register", "cas_register":
			model = registerModel
			ri := registerInput{op: op}
			if len(o.Input) > 1 {
				ri.arg = text(o.Input[1])
			}
			if len(o.Input) > 2 {
				ri.arg2 = text(o.Input[2])
			}
			ro := registerOutput{unknown: o.Unknown}
			if !o.Unknown && op == "read" {
				ro.value = text(o.Output)
			}
			if !o.Unknown && op == "cas" {
				ro.swapped = text(o.Output) == "true"
			}
			in, out = ri, ro
		case "kv":
			model = kvModel
			ki := kvInput{op: op, key: str(o.Input[1])}
			if len(o.Input) > 2 {
				ki.value = str(o.Input[2])
			}
			ko := kvOutput{unknown: o.Unknown}
			if !o.Unknown && op == "get" {
				ko.value = str(o.Output)
			}
			in, out = ki, ko
		default:
			panic("unknown model " + h.Model)
		}
		ops = append(ops, porcupine.Operation{ClientId: o.Client, Input: in, Call: o.Call, Output: out, Return: ret})
	}
	if len(ops) == 0 {
		model = registerModel
	}
	if h.Model != "kv" {
		if ints, ok := integers(ops); ok {
			return intRegisterModel, ints
		}
	}
	return model, ops
}

func main() {
	repeat := flag.Int("repeat", 1, "best of this many runs per history")
	timeout := flag.Duration("timeout", 0, "Porcupine's timeout per run (0: none)")
	flag.Parse()
	for _, path := range flag.Args() {
		data, err := os.ReadFile(path)
		if err != nil {
			panic(err)
		}
		var h exported
		if err := json.Unmarshal(data, &h); err != nil {
			panic(fmt.Sprintf("%s: %v", path, err))
		}
		model, ops := convert(h)
		best := math.Inf(1)
		verdict := ""
		for r := 0; r < *repeat; r++ {
			start := time.Now()
			res := porcupine.CheckOperationsTimeout(model, ops, *timeout)
			elapsed := time.Since(start).Seconds()
			if elapsed < best {
				best = elapsed
			}
			verdict = map[porcupine.CheckResult]string{porcupine.Ok: "ok", porcupine.Illegal: "illegal", porcupine.Unknown: "unknown"}[res]
			if res == porcupine.Unknown {
				break
			}
		}
		line, _ := json.Marshal(map[string]interface{}{"file": path, "model": h.Model, "ops": len(ops), "verdict": verdict, "seconds": best})
		fmt.Println(string(line))
	}
}
