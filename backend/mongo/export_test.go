package mongo

// UseMongoDBMerge makes Merge take the MongoDB code path (one guarded
// update, classification after the fact) even on FerretDB, so that the
// tests exercise it; values keep the server's encoding.
func UseMongoDBMerge(b *Backend) {
	b.ferret = false
}

// HexAfter exposes hexAfter to the tests.
var HexAfter = hexAfter
