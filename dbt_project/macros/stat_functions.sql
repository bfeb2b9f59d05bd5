{#
    The statistical functions the marts call, created in schema `stats` by the on-run-start hook
    (dbt_project.yml). They are the tail probabilities SQL has no built-in for:

        stats.ln_gamma(x)                 log Gamma (Lanczos, g = 7), x > 0
        stats.gamma_q(a, x)               regularised upper incomplete gamma Q(a, x)
        stats.chi2_sf(x, df)              P(X >= x) for X ~ chi-square(df)
        stats.inc_beta(a, b, x)           regularised incomplete beta I_x(a, b)
        stats.t_p_two_sided(t, df)        P(|T| >= |t|) for T ~ Student t(df), df real (Welch)
        stats.exact_2xk_p(a, b, max)      Freeman-Halton exact p of a 2 x 4 table of counts,
                                          NULL when it has more than `max` tables with its margins

    The series and continued fractions follow Numerical Recipes (gser/gcf, betacf); their
    agreement with scipy is tested in tests/dbt/test_statistics_against_scipy.py. Each function
    is (re)created only when its version comment differs, under an advisory lock, so concurrent
    builds do not race and a build on an up-to-date database changes nothing.
#}

{% macro _stat_function(name, signature, body, version='nyx-stats 2') -%}
do $do$
begin
    perform pg_advisory_xact_lock(hashtext('nyx stats functions'));
    if not exists (
        select 1
        from pg_proc as p
        inner join pg_namespace as n on p.pronamespace = n.oid
        where n.nspname = 'stats' and p.proname = '{{ name }}'
            and obj_description(p.oid, 'pg_proc') = '{{ version }}'
    ) then
        execute $fn$ create or replace function stats.{{ name }}{{ signature }} {{ body }} $fn$;
        execute $fn$ comment on function stats.{{ name }}{{ signature.split(' returns')[0] }}
            is '{{ version }}' $fn$;
    end if;
end
$do$;
{%- endmacro %}

{% macro create_stat_functions() -%}
do $do$
begin
    perform pg_advisory_xact_lock(hashtext('nyx stats functions'));
    create schema if not exists stats;
    if exists (select 1 from pg_roles where rolname = 'nyx_analyst') then
        grant usage on schema stats to nyx_analyst;
    end if;
end
$do$;

{{ _stat_function('ln_gamma', '(x double precision) returns double precision', "
language plpgsql immutable strict parallel safe as $body$
declare
    c double precision[] := array[
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7];
    a double precision;
    t double precision;
    y double precision := x - 1.0;
begin
    if x <= 0 then
        raise exception 'ln_gamma needs x > 0, got %', x;
    end if;
    if x < 0.5 then
        return ln(pi() / sin(pi() * x)) - stats.ln_gamma(1.0 - x);
    end if;
    a := c[1];
    t := y + 7.5;
    for i in 1..8 loop
        a := a + c[i + 1] / (y + i);
    end loop;
    return 0.5 * ln(2.0 * pi()) + (y + 0.5) * ln(t) - t + ln(a);
end
$body$") }}

{{ _stat_function('gamma_q', '(a double precision, x double precision) returns double precision', "
language plpgsql immutable strict parallel safe as $body$
declare
    tiny constant double precision := 1e-300;
    front double precision;
    ap double precision;
    s double precision;
    d double precision;
    b double precision;
    c double precision;
    h double precision;
    an double precision;
    delta double precision;
begin
    if x <= 0 then
        return 1.0;
    end if;
    front := -x + a * ln(x) - stats.ln_gamma(a);
    if x < a + 1.0 then
        -- the series for P(a, x); Q = 1 - P is not small here
        ap := a;
        s := 1.0 / a;
        d := s;
        for n in 1..10000 loop
            ap := ap + 1.0;
            d := d * x / ap;
            s := s + d;
            exit when abs(d) < abs(s) * 1e-16;
        end loop;
        return greatest(0.0, 1.0 - s * exp(front));
    end if;
    -- the continued fraction for Q(a, x), modified Lentz
    b := x + 1.0 - a;
    c := 1.0 / tiny;
    d := 1.0 / b;
    h := d;
    for i in 1..10000 loop
        an := -i * (i - a);
        b := b + 2.0;
        d := an * d + b;
        if abs(d) < tiny then d := tiny; end if;
        c := b + an / c;
        if abs(c) < tiny then c := tiny; end if;
        d := 1.0 / d;
        delta := d * c;
        h := h * delta;
        exit when abs(delta - 1.0) < 1e-16;
    end loop;
    return exp(front) * h;
end
$body$") }}

{{ _stat_function('chi2_sf', '(x double precision, df double precision) returns double precision', "
language sql immutable strict parallel safe as $body$
    select case when df <= 0 then null else stats.gamma_q(df / 2.0, greatest(x, 0.0) / 2.0) end
$body$") }}

{{ _stat_function('beta_cf', '(a double precision, b double precision, x double precision) returns double precision', "
language plpgsql immutable strict parallel safe as $body$
declare
    tiny constant double precision := 1e-300;
    qab double precision := a + b;
    qap double precision := a + 1.0;
    qam double precision := a - 1.0;
    c double precision := 1.0;
    d double precision;
    h double precision;
    aa double precision;
    delta double precision;
    m2 double precision;
begin
    d := 1.0 - qab * x / qap;
    if abs(d) < tiny then d := tiny; end if;
    d := 1.0 / d;
    h := d;
    for m in 1..10000 loop
        m2 := 2.0 * m;
        aa := m * (b - m) * x / ((qam + m2) * (a + m2));
        d := 1.0 + aa * d;
        if abs(d) < tiny then d := tiny; end if;
        c := 1.0 + aa / c;
        if abs(c) < tiny then c := tiny; end if;
        d := 1.0 / d;
        h := h * d * c;
        aa := -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d := 1.0 + aa * d;
        if abs(d) < tiny then d := tiny; end if;
        c := 1.0 + aa / c;
        if abs(c) < tiny then c := tiny; end if;
        d := 1.0 / d;
        delta := d * c;
        h := h * delta;
        exit when abs(delta - 1.0) < 1e-16;
    end loop;
    return h;
end
$body$") }}

{{ _stat_function('inc_beta', '(a double precision, b double precision, x double precision) returns double precision', "
language plpgsql immutable strict parallel safe as $body$
declare
    front double precision;
begin
    if x <= 0 then
        return 0.0;
    end if;
    if x >= 1 then
        return 1.0;
    end if;
    front := exp(stats.ln_gamma(a + b) - stats.ln_gamma(a) - stats.ln_gamma(b) + a * ln(x) + b * ln(1.0 - x));
    if x < (a + 1.0) / (a + b + 2.0) then
        return front * stats.beta_cf(a, b, x) / a;
    end if;
    return 1.0 - front * stats.beta_cf(b, a, 1.0 - x) / b;
end
$body$") }}

{{ _stat_function('t_p_two_sided', '(t double precision, df double precision) returns double precision', "
language sql immutable strict parallel safe as $body$
    select case when df > 0 then stats.inc_beta(df / 2.0, 0.5, df / (df + t * t)) end
$body$") }}

{{ _stat_function('exact_2xk_p', '(a integer[], b integer[], max_tables bigint) returns double precision', "
language plpgsql immutable strict parallel safe as $body$
declare
    -- the columns of the table, sorted by total so that the largest is the one determined by the rest
    cols integer[];
    xs integer[];
    n integer := 0;
    r integer := 0;
    lf double precision[];
    c0 integer; c1 integer; c2 integer; c3 integer;
    a0 integer; a1 integer; a2 integer; a3 integer;
    x3 integer;
    lp_obs double precision;
    lp double precision;
    l_all double precision;
    total double precision := 0.0;
begin
    if array_length(a, 1) <> 4 or array_length(b, 1) <> 4 then
        raise exception 'exact_2xk_p takes two rows of 4 counts';
    end if;
    select array_agg(a[i] + b[i] order by a[i] + b[i], i), array_agg(a[i] order by a[i] + b[i], i)
    into cols, xs
    from generate_series(1, 4) as i;
    c0 := cols[1]; c1 := cols[2]; c2 := cols[3]; c3 := cols[4];
    a0 := xs[1]; a1 := xs[2]; a2 := xs[3]; a3 := xs[4];
    n := c0 + c1 + c2 + c3;
    r := a0 + a1 + a2 + a3;
    if n = 0 or r = 0 or r = n then
        return 1.0;
    end if;
    -- enumerate the tables by their smaller row: as few as (r + 1)^3 whatever the other row holds
    if r > n - r then
        a0 := c0 - a0; a1 := c1 - a1; a2 := c2 - a2; a3 := c3 - a3;
        r := n - r;
    end if;
    if (least(c0, r) + 1)::bigint * (least(c1, r) + 1) * (least(c2, r) + 1) > max_tables then
        return null;
    end if;
    -- lf[i + 1] = ln(i!)
    lf := array_fill(0.0::double precision, array[n + 1]);
    for i in 1..n loop
        lf[i + 1] := lf[i] + ln(i::double precision);
    end loop;
    l_all := lf[n + 1] - lf[r + 1] - lf[n - r + 1];
    lp_obs := (lf[c0 + 1] - lf[a0 + 1] - lf[c0 - a0 + 1]) + (lf[c1 + 1] - lf[a1 + 1] - lf[c1 - a1 + 1])
        + (lf[c2 + 1] - lf[a2 + 1] - lf[c2 - a2 + 1]) + (lf[c3 + 1] - lf[a3 + 1] - lf[c3 - a3 + 1]);
    for x0 in 0..least(c0, r) loop
        for x1 in 0..least(c1, r - x0) loop
            for x2 in 0..least(c2, r - x0 - x1) loop
                x3 := r - x0 - x1 - x2;
                continue when x3 > c3;
                lp := (lf[c0 + 1] - lf[x0 + 1] - lf[c0 - x0 + 1]) + (lf[c1 + 1] - lf[x1 + 1] - lf[c1 - x1 + 1])
                    + (lf[c2 + 1] - lf[x2 + 1] - lf[c2 - x2 + 1]) + (lf[c3 + 1] - lf[x3 + 1] - lf[c3 - x3 + 1]);
                -- tables no more probable than the observed one (relative tolerance 1e-7, as R and scipy)
                if lp <= lp_obs + 1e-7 * greatest(1.0, abs(lp_obs)) then
                    total := total + exp(lp - l_all);
                end if;
            end loop;
        end loop;
    end loop;
    return least(1.0, total);
end
$body$") }}
{%- endmacro %}
