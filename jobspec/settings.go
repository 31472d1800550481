package jobspec

import (
	yaml "go.yaml.in/yaml/v3"
)

var (
	settingsFields = []string{"entrypoint", "daemons", "commands", "timeout"}
	daemonFields   = []string{"enabled"}
)

// settings reads the reserved settings key.
func (p *parser) settings(v *yaml.Node) {
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "", settingsKey, "settings is a map (of %s), not %s", joinFields(settingsFields), describe(v))
		return
	}
	seen := map[string]bool{}
	for _, kv := range p.pairs(v, "", settingsKey) {
		name, ok := p.keyName(kv.key, "", settingsKey)
		if !ok {
			continue
		}
		field := settingsKey + "." + name
		if seen[name] {
			p.add(kv.key.Line, "", field, "given twice: keep one")
			continue
		}
		seen[name] = true
		switch name {
		case "entrypoint":
			p.file.Settings.Entrypoint = p.entrypoint(kv.value, "", field)
		case "daemons":
			p.daemons(kv.value)
		case "timeout":
			p.file.Settings.Timeout, _ = p.timeout(kv.value, "", field)
		case "commands":
			if !isNull(kv.value) { // left empty: as if not written
				on := p.boolean(kv.value, "", field)
				p.file.Settings.Commands = &on
			}
		default:
			p.unknownField(kv.key, "", field, settingsFields)
		}
	}
}

// daemons reads settings.daemons: {NAME: {enabled: false}}.
func (p *parser) daemons(v *yaml.Node) {
	const field = settingsKey + ".daemons"
	if isNull(v) {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "", field, "want a map from device name to its switches (like pi-3: {enabled: false}), not %s", describe(v))
		return
	}
	daemons := map[string]DaemonSettings{}
	for _, kv := range p.pairs(v, "", field) {
		name, ok := p.keyName(kv.key, "", field)
		if !ok {
			continue
		}
		dfield := field + "." + name
		if _, dup := daemons[name]; dup {
			p.add(kv.key.Line, "", dfield, "given twice: keep one")
			continue
		}
		daemons[name] = p.daemon(kv.value, dfield)
	}
	p.file.Settings.Daemons = daemons
}

func (p *parser) daemon(v *yaml.Node, field string) DaemonSettings {
	d := DaemonSettings{Enabled: true}
	if isNull(v) {
		return d
	}
	if v.Kind != yaml.MappingNode {
		p.add(v.Line, "", field, "want a map (like {enabled: false}), not %s", describe(v))
		return d
	}
	for _, kv := range p.pairs(v, "", field) {
		name, ok := p.keyName(kv.key, "", field)
		if !ok {
			continue
		}
		if name != "enabled" {
			p.unknownField(kv.key, "", field+"."+name, daemonFields)
			continue
		}
		d.Enabled = p.boolean(kv.value, "", field+".enabled")
	}
	return d
}
