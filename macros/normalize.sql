{#- Contact-field normalization shared by the staging models. -#}

{% macro normalize_email(column) -%}
if(
    regexp_contains(lower(regexp_replace({{ column }}, r'\s', '')), r'^[^@]+@[^@]+\.[^@]+$'),
    lower(regexp_replace({{ column }}, r'\s', '')),
    null
)
{%- endmacro %}

{#- Best-effort E.164 in SQL for analysis; Customer Match exports normalize
    phones again with a full phone-number library. -#}
{% macro phone_e164(phone, country) -%}
{#- "+44 (0)7911 ...": the bracketed trunk zero is dropped before digits are kept. -#}
{%- set digits = "regexp_replace(regexp_replace(" ~ phone ~ ", r'\\(0\\)', ''), r'[^0-9]', '')" -%}
{%- set cc = "upper(trim(" ~ country ~ "))" -%}
case
    when {{ phone }} is null or {{ digits }} = '' then null
    when starts_with(trim({{ phone }}), '+') then concat('+', {{ digits }})
    when starts_with({{ digits }}, '00') then concat('+', substr({{ digits }}, 3))
    when {{ cc }} in ('US', 'CA') and length({{ digits }}) = 10 then concat('+1', {{ digits }})
    when {{ cc }} in ('US', 'CA') and length({{ digits }}) = 11 and starts_with({{ digits }}, '1') then concat('+', {{ digits }})
    when {{ cc }} = 'DE' and starts_with({{ digits }}, '0') then concat('+49', substr({{ digits }}, 2))
    when {{ cc }} = 'GB' and starts_with({{ digits }}, '0') then concat('+44', substr({{ digits }}, 2))
    when {{ cc }} = 'FR' and starts_with({{ digits }}, '0') then concat('+33', substr({{ digits }}, 2))
    else null
end
{%- endmacro %}

{% macro clean_channel(column) -%}
replace(lower(trim({{ column }})), ' ', '_')
{%- endmacro %}
