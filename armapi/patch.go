package armapi

import (
	"encoding/json"

	"github.com/galleon-project/galleon"
)

// patchBody is the shape of every PATCH Galleon serves: tags replace the
// existing ones when given, properties merge into the existing ones.
type patchBody struct {
	Tags       *map[string]string `json:"tags"`
	Properties json.RawMessage    `json:"properties"`
}

// mergeProperties applies patch to *props as a JSON merge patch (RFC 7396):
// objects merge key by key, null removes, anything else replaces. Working on
// the JSON form keeps PATCH in step with every property PUT accepts.
func mergeProperties[T any](props *T, patch json.RawMessage) error {
	if len(patch) == 0 || string(patch) == "null" {
		return nil
	}
	var patchDoc map[string]any
	if err := json.Unmarshal(patch, &patchDoc); err != nil {
		return galleon.TargetErrorf(galleon.CodeInvalidRequestContent, "properties",
			"The request content was invalid and could not be deserialized: 'properties' must be an object.")
	}
	cur, err := json.Marshal(props)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return err
	}
	merged, err := json.Marshal(mergeJSON(doc, patchDoc))
	if err != nil {
		return err
	}
	var out T
	if err := json.Unmarshal(merged, &out); err != nil {
		return galleon.TargetErrorf(galleon.CodeInvalidRequestContent, "properties",
			"The request content was invalid and could not be deserialized: %s.", describeJSONError(err))
	}
	*props = out
	return nil
}

func mergeJSON(dst, patch map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, pv := range patch {
		if pv == nil {
			delete(dst, k)
			continue
		}
		if pm, ok := pv.(map[string]any); ok {
			dm, _ := dst[k].(map[string]any)
			dst[k] = mergeJSON(dm, pm)
			continue
		}
		dst[k] = pv
	}
	return dst
}
