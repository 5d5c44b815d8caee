# Sourced by .ci/browser-setup.sh and tests/slurm/cluster.sh: record the Debian packages an
# install adds, and purge exactly those again, so CI leaves the machine as it found it.
# The caller defines say() (its message prefix).

# The installed packages, one a line, sorted.
installed_packages() {
    dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort -u
}

# record_added BEFORE FILE: add to FILE the packages installed since the list BEFORE (also
# after a failed install: teardown then removes a partial install too).
record_added() {
    { comm -13 <(echo "$1") <(installed_packages); cat "$2" 2>/dev/null || true; } \
        | sort -u >"$2.new"
    mv "$2.new" "$2"
    [[ -s $2 ]] || rm -f "$2"
}

# purge_recorded FILE APT: purge FILE's packages that are still there (installed or config
# files left) with the command APT (apt-get or a wrapper of it), then drop FILE. Returns 1,
# leaving them installed, when apt-get would also remove a package not in FILE (one installed
# since that depends on them) or when the purge fails.
purge_recorded() {
    local file=$1 apt=$2 p status pkgs=() extra
    [[ -s $file ]] || { say "no packages installed by this script: none purged"; return 0; }
    while read -r p; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || continue
        # second letter: n = not installed; else installed, half-installed or config files
        [[ -z $status || ${status:1:1} == n ]] || pkgs+=("$p")
    done <"$file"
    if [[ ${#pkgs[@]} -gt 0 ]]; then
        extra=$(apt-get -s purge "${pkgs[@]}" 2>/dev/null \
            | awk '$1 == "Purg" || $1 == "Remv" {sub(/:.*/, "", $2); print $2}' \
            | grep -vxF -f "$file" || true)
        if [[ -n $extra ]]; then
            say "ERROR: apt-get purge would also remove $(echo "$extra" | tr '\n' ' ')(installed" \
                "since): left installed, purge the packages of $file by hand"
            return 1
        fi
        say "purging ${#pkgs[@]} packages: ${pkgs[*]}"
        "$apt" purge -y "${pkgs[@]}" || { say "ERROR: apt-get purge failed"; return 1; }
    fi
    rm -f "$file"
}
