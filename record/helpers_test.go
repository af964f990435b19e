package record_test

import (
	"encoding/json"

	"github.com/recordlab/go-record/backend"
)

type backendOp = backend.Op

func jsonNumber(s string) json.Number { return json.Number(s) }
