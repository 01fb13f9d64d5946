{#- INPUT (...) OUTPUT (...) [REMOTE WITH CONNECTION c] from _ml_remote_clauses: field names and
    types are checked before they reach SQL (a type is a BigQuery type name, possibly ARRAY<...>),
    the connection is `project.location.id` (backticked) or DEFAULT. -#}
{% macro _ml_render_remote(remote) %}
    {%- set lines = [] -%}
    {%- for clause in ['input', 'output'] if remote[clause] -%}
        {%- set fields = [] -%}
        {%- for name, type in remote[clause].items() -%}
            {%- if not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', name | string)
                    or not modules.re.match('^[A-Za-z0-9_]+( *<[A-Za-z0-9_ ]+>)?$', type | string) -%}
                {%- do exceptions.raise_compiler_error("bqml_model '" ~ model.name ~ "': " ~ clause ~ " field '" ~ name ~ "' of type '" ~ type ~ "' is not a field name and BigQuery type") -%}
            {%- endif -%}
            {%- do fields.append(name ~ ' ' ~ type) -%}
        {%- endfor -%}
        {%- do lines.append(clause | upper ~ ' (' ~ fields | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- set connection = remote.connection | string -%}
    {%- if remote.connection is none -%}
    {%- elif connection | upper == 'DEFAULT' -%}
        {%- do lines.append('REMOTE WITH CONNECTION DEFAULT') -%}
    {%- elif modules.re.match('^[A-Za-z0-9][A-Za-z0-9_.:-]*$', connection) -%}
        {%- do lines.append('REMOTE WITH CONNECTION `' ~ connection ~ '`') -%}
    {%- else -%}
        {%- do exceptions.raise_compiler_error("bqml_model '" ~ model.name ~ "': remote_with_connection '" ~ connection ~ "' is neither project.location.connection_id nor DEFAULT") -%}
    {%- endif -%}
    {{ return(lines | join('\n')) }}
{% endmacro %}
