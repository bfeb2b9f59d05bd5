-- depends: 0004_roles
-- Which sampler generated a session's text. The transformers backend draws every run from its own
-- torch.Generator; vLLM draws from its own per-request generator, so the same seed gives other
-- text there, and a session must be resumed with the backend it started with.

alter table raw.probe_sessions
    add column backend text not null default 'transformers';

alter table raw.probe_sessions
    add constraint probe_sessions_backend_known check (backend in ('transformers', 'vllm'));

comment on column raw.probe_sessions.backend is
    'Sampler that generated the text: transformers (the collector''s own decode loop) or vllm.';
