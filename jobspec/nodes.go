package jobspec

import (
	"fmt"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// maxWork bounds the map entries one file may make the parser read. Each
// alias of a map reads it again, so without a bound a small file of
// aliases could cost time quadratic in its size.
const maxWork = 200_000

// spend counts n entries read and reports whether the budget still holds,
// reporting it once when it does not.
func (p *parser) spend(n int, line int) bool {
	if p.work > maxWork {
		return false
	}
	p.work += n
	if p.work > maxWork {
		// Kept even past maxErrors: it explains why reading stopped.
		p.errs = append(p.errs, &Error{File: p.file.Name, Line: line,
			Msg: fmt.Sprintf("the file's aliases (*name) make it more than %d entries long: use fewer aliases of large maps", maxWork)})
		return false
	}
	return true
}

// pair is one key and value of a mapping, merge keys already expanded.
type pair struct{ key, value *yaml.Node }

// pairs returns the entries of a mapping in order, expanding merge keys
// ("<<: *defaults") the YAML way: keys written in the mapping win over
// merged ones, and among merged ones the first wins.
func (p *parser) pairs(m *yaml.Node, job, field string) []pair {
	var own, merged []pair
	p.collectPairs(m, job, field, &own, &merged, map[*yaml.Node]bool{m: true}, 0)
	have := map[string]bool{}
	for _, kv := range own {
		have[kv.key.Value] = true
	}
	out := own
	for _, kv := range merged {
		if kv.key.Kind == yaml.ScalarNode && have[kv.key.Value] {
			continue
		}
		have[kv.key.Value] = true
		out = append(out, kv)
	}
	return out
}

// maxMergeDepth bounds merges of merges, so that a hostile file cannot make
// the parser walk far.
const maxMergeDepth = 32

// collectPairs appends m's entries to own (depth 0) or merged. visited
// holds the maps already merged: merging one again adds nothing, as the
// first copy wins, and skipping it keeps a file of many aliases to aliases
// from costing exponential time.
func (p *parser) collectPairs(m *yaml.Node, job, field string, own, merged *[]pair, visited map[*yaml.Node]bool, depth int) {
	if !p.spend(len(m.Content)/2, m.Line) {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], resolve(m.Content[i+1])
		if !isMergeKey(key) {
			if depth == 0 {
				*own = append(*own, pair{key, value})
			} else {
				*merged = append(*merged, pair{key, value})
			}
			continue
		}
		if depth >= maxMergeDepth {
			p.add(key.Line, job, field, "merges (<<) nest too deep")
			continue
		}
		sources := []*yaml.Node{value}
		if value.Kind == yaml.SequenceNode {
			sources = value.Content
		}
		for _, src := range sources {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				p.add(key.Line, job, field, "a merge (<<) takes a map or a list of maps, not %s", describe(src))
				continue
			}
			if !visited[src] {
				visited[src] = true
				p.collectPairs(src, job, field, own, merged, visited, depth+1)
			}
		}
	}
}

func isMergeKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!merge" || (n.Value == "<<" && n.Style == 0))
}

// maxAliasHops bounds alias chains.
const maxAliasHops = 16

// resolve follows aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < maxAliasHops; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing (null)"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(shorten(n.Value))
	}
	return "an alias"
}
