#!/bin/sh
# Fails when git tracks a build product: an object file, archive, shared
# library or test binary by its name (.o .a .so .test), an ELF file or ar
# archive by its first bytes, or an executable file that is not a script
# (no #! line). A 15.6 MB daemon binary once sat in the tree for weeks:
# `make lint` (run by `make test`) now says so at once. It reads what git
# tracks (the index), not the working tree, in a few processes (fast).
set -eu
cd "$(dirname "$0")/.."

# first4 prints the first 4 bytes of a tracked file, escaped by od.
first4() { git cat-file blob ":$1" | head -c 4 | od -An -c | tr -d ' \n'; }

out=$(
	git ls-files | grep -E '\.(o|a|so|test)$|\.so\.' | sed 's/$/: an object, archive, shared library or test binary/'
	# Candidates by content in one pass, confirmed by their first bytes.
	git grep --cached -l -a -F -e "$(printf '\177ELF')" -e '!<arch>' -- . | while read -r path; do
		case "$(first4 "$path")" in
		177ELF) echo "$path: an ELF binary" ;;
		'!<ar') echo "$path: an ar archive" ;;
		esac
	done
	git ls-files -s | awk '$1 == "100755" { sub(/^[^\t]*\t/, ""); print }' | while read -r path; do
		case "$(first4 "$path")" in
		'#!'*) ;;
		177ELF) ;; # said above
		*) echo "$path: executable, but not a script with a #! line" ;;
		esac
	done
)
if [ -n "$out" ]; then
	echo "tracked build products (git rm --cached them; .gitignore keeps them out):"
	echo "$out"
	exit 1
fi
