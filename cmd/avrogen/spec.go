package main

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// spec is Xero's OpenAPI document kept as YAML nodes. Nodes keep the order in which the spec
// lists properties, so the generated fields follow the spec's order.
type spec struct {
	// schemas maps a name under components/schemas to its definition.
	schemas map[string]*yaml.Node
}

const schemaRefPrefix = "#/components/schemas/"

// loadSpec reads and indexes the OpenAPI document at path.
func loadSpec(path string) (*spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse spec %s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fmt.Errorf("parse spec %s: not a single YAML document", path)
	}
	schemas := lookup(lookup(doc.Content[0], "components"), "schemas")
	if schemas == nil || schemas.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("spec %s has no components/schemas", path)
	}
	s := &spec{schemas: make(map[string]*yaml.Node, len(schemas.Content)/2)}
	for i := 0; i+1 < len(schemas.Content); i += 2 {
		s.schemas[schemas.Content[i].Value] = resolveAlias(schemas.Content[i+1])
	}
	return s, nil
}

// resolveRef returns the name and definition a "$ref" points to. Only references into
// components/schemas occur in Xero's record schemas.
func (s *spec) resolveRef(ref string) (string, *yaml.Node, error) {
	name, ok := strings.CutPrefix(ref, schemaRefPrefix)
	if !ok {
		return "", nil, fmt.Errorf("unsupported $ref %q (only %s... is followed)", ref, schemaRefPrefix)
	}
	n, ok := s.schemas[name]
	if !ok {
		return "", nil, fmt.Errorf("$ref %q: no such schema", ref)
	}
	return name, n, nil
}

// lookup returns the value of key in mapping node n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}

// scalar returns the text of the scalar at key in n, or "".
func scalar(n *yaml.Node, key string) string {
	v := lookup(n, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// isTrue reports whether key in n is the boolean true (the spec's x-is-... markers).
func isTrue(n *yaml.Node, key string) bool {
	return scalar(n, key) == "true"
}

// pairs returns the key and value nodes of mapping n in document order.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([][2]*yaml.Node, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], resolveAlias(n.Content[i+1])})
	}
	return out
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
