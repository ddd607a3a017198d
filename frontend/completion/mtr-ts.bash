# bash completion for mtr-ts. Source it (or copy it to /etc/bash_completion.d/mtr-ts, or to
# ~/.local/share/bash-completion/completions/mtr-ts). The flags come from the installed mtr-ts's
# own --help, read once per shell, so they always match the version installed.

_mtr_ts_flags() {
  "$1" --help 2>/dev/null | sed -n 's/^ *\(-[A-Za-z0-9]\), \(--[a-z0-9-]*\).*/\1 \2/p; s/^ *\(--[a-z0-9-]*\).*/\1/p'
}

_mtr_ts() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    -F|--filename|--html)
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
    -I|--interface)
      COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
      return ;;
    -a|--address|-f|--first-ttl|-m|--max-ttl|-U|--max-unknown|-P|--port|-L|--localport|-s|--psize|\
    -B|--bitpattern|-i|--interval|-G|--gracetime|-Q|--tos|-Z|--timeout|-M|--mark|-c|--report-cycles|\
    --displaymode|-o|--order|-y|--ipinfo)
      return ;;  # a value of the user's
  esac
  if [[ $cur == -* ]]; then
    if [[ -z ${_mtr_ts_flag_cache-} ]]; then
      _mtr_ts_flag_cache=$(_mtr_ts_flags "${COMP_WORDS[0]}")
    fi
    COMPREPLY=($(compgen -W "$_mtr_ts_flag_cache" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -A hostname -- "$cur"))
}

complete -F _mtr_ts mtr-ts
