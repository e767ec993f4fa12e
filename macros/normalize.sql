{#- Contact-field normalization shared by the staging models. -#}

{% macro normalize_email(column) -%}
if(
    regexp_contains(lower(regexp_replace({{ column }}, r'\s', '')), r'^[^@]+@[^@]+\.[^@]+$'),
    lower(regexp_replace({{ column }}, r'\s', '')),
    null
)
{%- endmacro %}

{#- Best-effort E.164 in SQL for analysis; Customer Match exports normalize
    phones again with a full phone-number library.
    The phone is reduced once to "<COUNTRY>:<+ if written>digits"
    ("+44 (0)7911 ..." drops the bracketed trunk zero), then each rule
    rewrites that key into E.164; a key no rule turns into "+digits" is NULL.
    One reference to the phone keeps the SQL small on BigQuery and fast to
    plan locally. -#}
{% macro phone_e164(phone, country) -%}
{%- set key = "concat(coalesce(upper(trim(" ~ country ~ ")), ''), ':', if(starts_with(trim(" ~ phone ~ "), '+'), '+', ''), regexp_replace(regexp_replace(" ~ phone ~ ", r'\\(0\\)', ''), r'[^0-9]', ''))" -%}
{%- set rules = [
    ("^[A-Z]*:\\+([0-9]+)$", "+\\1"),
    ("^[A-Z]*:00([0-9]+)$", "+\\1"),
    ("^(?:US|CA):([0-9]{10})$", "+1\\1"),
    ("^(?:US|CA):(1[0-9]{10})$", "+\\1"),
    ("^DE:0([0-9]+)$", "+49\\1"),
    ("^GB:0([0-9]+)$", "+44\\1"),
    ("^FR:0([0-9]+)$", "+33\\1"),
] -%}
{%- set ns = namespace(expr=key) -%}
{%- for pattern, replacement in rules -%}
{%- set ns.expr = "regexp_replace(" ~ ns.expr ~ ", r'" ~ pattern ~ "', r'" ~ replacement ~ "')" -%}
{%- endfor -%}
regexp_extract({{ ns.expr }}, r'^(\+[0-9]+)$')
{%- endmacro %}

{% macro clean_channel(column) -%}
replace(lower(trim({{ column }})), ' ', '_')
{%- endmacro %}
