# bash completion for lockboxctl(1)                          -*- shell-script -*-
# Verbs follow docs/design.md §5. Request and grant ids are completed from
# `lockboxctl request list --json` only when the caller may read them.

_lockboxctl_ids()
{
    local json
    json=$(lockboxctl request list --json 2>/dev/null) || return
    # ids are UUIDs: pick them out without needing a JSON tool.
    printf '%s\n' "$json" | grep -o '"id": *"[0-9a-f-]*"' | sed 's/.*"\([0-9a-f-]*\)"$/\1/'
}

_lockboxctl()
{
    local cur prev words cword
    _init_completion || return

    local verbs="request grant session audit watch key authorized-keys status"
    local states="pending-manager pending-approver approved active denied expired cancelled revoked released completed"
    # liblockbox/audit_event.h
    local events="request-created manager-approved approver-approved request-denied request-cancelled
        request-expired call-refused notification-sent notification-failed grant-issued grant-installed
        grant-refused grant-activated grant-revoked grant-completed access-allowed access-denied
        session-opened session-closed session-killed calls-refused-summary state-damaged
        bus-signal-forged grant-untrusted trusted-keys-changed name-conflict nss-cache-failed grant-released
        requests-pruned"

    case $prev in
        --config | --ssh-key)
            _filedir
            return
            ;;
        --out)
            _filedir -d
            return
            ;;
        --state)
            COMPREPLY=($(compgen -W "$states" -- "$cur"))
            return
            ;;
        --request)
            COMPREPLY=($(compgen -W "$(_lockboxctl_ids)" -- "$cur"))
            return
            ;;
        --event)
            COMPREPLY=($(compgen -W "$events" -- "$cur"))
            return
            ;;
        --tenant | --ticket | --host | --duration | --reason | --engineer | --comment | --access | --since | --until | \
            --actor | --limit | --cursor)
            return
            ;;
    esac

    # Find the verb and its sub-verb, skipping global options.
    local i verb="" sub=""
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --config) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $verb ]]; then
                    verb=${words[i]}
                elif [[ -z $sub ]]; then
                    sub=${words[i]}
                fi
                ;;
        esac
    done

    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$verbs --config --help" -- "$cur"))
        return
    fi

    local subs="" opts=""
    case $verb in
        request) subs="create list show approve deny cancel" ;;
        grant) subs="list show revoke release export import" ;;
        session) subs="list kill" ;;
        key) subs="generate id" ;;
        audit)
            if [[ $sub == report ]]; then
                opts="--since --until --json --csv"
            else
                opts="report --since --until --event --actor --engineer --host --request --json --csv --limit"
            fi
            ;;
        status) opts="--json --check" ;;
        authorized-keys)
            COMPREPLY=($(compgen -u -- "$cur"))
            return
            ;;
    esac

    if [[ -n $subs && -z $sub ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi

    case "$verb $sub" in
        "request create") opts="--tenant --ticket --host --duration --reason --ssh-key --engineer --start --access" ;;
        "request list") opts="--state --limit --cursor --json" ;;
        "request show" | "grant show") opts="--json" ;;
        "request approve") opts="--duration --comment --access" ;;
        "request deny" | "grant revoke") opts="--reason" ;;
        "grant list") opts="--limit --cursor --json" ;;
        "session list") opts="--json" ;;
        "key generate") opts="--out" ;;
        "key id")
            _filedir
            return
            ;;
    esac

    if [[ $cur == -* || -z $cur && -n $opts && ! "$verb $sub" =~ ^(request|grant)\ (show|approve|deny|cancel|revoke|release|export)$ ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi
    case "$verb $sub" in
        "request show" | "request approve" | "request deny" | "request cancel" | \
            "grant show" | "grant revoke" | "grant release" | "grant export")
            COMPREPLY=($(compgen -W "$(_lockboxctl_ids)" -- "$cur"))
            ;;
    esac
} &&
    complete -F _lockboxctl lockboxctl

# ex: filetype=sh
