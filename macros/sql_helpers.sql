{#- Small SQL-writing helpers. -#}

{#- A list of values as a SQL list of string literals: 'a', 'b'. -#}
{% macro sql_list(values) -%}
{%- for value in values -%}
'{{ value | replace("\\", "\\\\") | replace("'", "\\'") }}'{% if not loop.last %}, {% endif %}
{%- endfor -%}
{%- endmacro %}

{#- Rows whose date column falls in (as_of - to_days, as_of - from_days]. -#}
{% macro count_in_window(date_column, as_of, from_days, to_days) -%}
countif({{ date_column }} > date_sub({{ as_of }}, interval {{ to_days }} day) and {{ date_column }} <= date_sub({{ as_of }}, interval {{ from_days }} day))
{%- endmacro %}
