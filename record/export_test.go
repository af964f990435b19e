package record

// SetSpool gives a store made by NewStore a spool in dir, named store in
// the journals' headers, as Open gives one to a store opened by DSN.
func SetSpool(s *Store, dir, store string) { s.spoolRoot, s.dsn = dir, store }
