-- Every pair of terms probed with the same model and judged by the same judge (version and mode):
-- difference in mean depth with its standard error, Jensen-Shannon divergence (bits, 0..1) and
-- total variation distance (0..1) between the depth distributions, and the chi-square statistic
-- of the 2 x 4 table of depth counts (depth columns that are empty for both terms are dropped,
-- and the degrees of freedom with them).

with

distribution as (

    select * from {{ ref('term_depth_distribution') }}

),

long_form as (

    select
        distribution.term,
        distribution.model_name,
        distribution.classifier_version,
        distribution.judge_mode,
        distribution.runs,
        depths.depth,
        depths.n,
        depths.p
    from distribution
    cross join lateral (
        values
        (0, distribution.depth_0, distribution.share_depth_0),
        (1, distribution.depth_1, distribution.share_depth_1),
        (2, distribution.depth_2, distribution.share_depth_2),
        (3, distribution.depth_3, distribution.share_depth_3)
    ) as depths (depth, n, p)

),

per_depth as (

    select
        a.model_name,
        a.classifier_version,
        a.judge_mode,
        a.term as term_a,
        b.term as term_b,
        a.depth,
        a.n as n_a,
        b.n as n_b,
        a.p as p_a,
        b.p as p_b,
        a.runs as runs_a,
        b.runs as runs_b,
        -- expected counts of the 2 x 4 contingency table, in double precision (counts overflow int4)
        a.runs::double precision * (a.n + b.n) / (a.runs + b.runs) as expected_a,
        b.runs::double precision * (a.n + b.n) / (a.runs + b.runs) as expected_b
    from long_form as a
    inner join long_form as b
        on
            a.model_name = b.model_name
            and a.classifier_version = b.classifier_version
            and a.judge_mode = b.judge_mode
            and a.depth = b.depth
            and a.term < b.term

),

pair_tests as (

    select
        model_name,
        classifier_version,
        judge_mode,
        term_a,
        term_b,
        sum({{ js_divergence_term('p_a', 'p_b') }}) as js_divergence,
        0.5 * sum(abs(p_a - p_b)) as total_variation,
        sum(
            case
                when n_a + n_b > 0
                    then power(n_a - expected_a, 2) / expected_a + power(n_b - expected_b, 2) / expected_b
                else 0.0
            end
        ) as chi_square,
        (count(*) filter (where n_a + n_b > 0) - 1)::integer as chi_square_df
    from per_depth
    group by model_name, classifier_version, judge_mode, term_a, term_b

),

final as (

    select
        pair_tests.model_name,
        pair_tests.classifier_version,
        pair_tests.judge_mode,
        pair_tests.term_a,
        pair_tests.term_b,
        a.runs as runs_a,
        b.runs as runs_b,
        a.depth_mean as depth_mean_a,
        b.depth_mean as depth_mean_b,
        a.depth_mean - b.depth_mean as depth_mean_diff,
        sqrt(a.depth_variance / a.runs + b.depth_variance / b.runs) as depth_mean_diff_se,
        pair_tests.js_divergence,
        pair_tests.total_variation,
        pair_tests.chi_square,
        pair_tests.chi_square_df
    from pair_tests
    inner join distribution as a
        on
            pair_tests.model_name = a.model_name
            and pair_tests.classifier_version = a.classifier_version
            and pair_tests.judge_mode = a.judge_mode
            and pair_tests.term_a = a.term
    inner join distribution as b
        on
            pair_tests.model_name = b.model_name
            and pair_tests.classifier_version = b.classifier_version
            and pair_tests.judge_mode = b.judge_mode
            and pair_tests.term_b = b.term

)

select * from final
