package console

// CatalogHas says whether lang's catalog has key (for the external tests).
func CatalogHas(lang, key string) bool { _, ok := catalogs[lang][key]; return ok }

// Languages are the console's languages.
var Languages = languages

// Tr is tr.
var Tr = tr
