// Tandem's web-hook body for every hook point (kratosext.HookPayload).
// Kratos' ctx holds every cookie the browser sent, its session cookie
// included: only Tandem's own signed device cookie is forwarded.
function(ctx)
  local has(o, k) = std.type(o) == 'object' && std.objectHas(o, k);
  local header(n) = if has(ctx, 'request_headers') && has(ctx.request_headers, n) then ctx.request_headers[n][0] else null;
  local cookie(n) = if has(ctx, 'request_cookies') && has(ctx.request_cookies, n) then ctx.request_cookies[n] else null;
  {
    flow_id: ctx.flow.id,
    flow_active: if has(ctx.flow, 'active') then ctx.flow.active else null,
    identity_id: if has(ctx, 'identity') then ctx.identity.id else null,
    traits: if has(ctx, 'identity') && has(ctx.identity, 'traits') then ctx.identity.traits else null,
    authentication_methods: if has(ctx, 'session') && has(ctx.session, 'authentication_methods') then ctx.session.authentication_methods else null,
    transient_payload: if has(ctx.flow, 'transient_payload') then ctx.flow.transient_payload else null,
    device_cookie: cookie('tandem_device'),
    user_agent: header('User-Agent'),
    ch_mobile: header('Sec-Ch-Ua-Mobile'),
    ch_platform: header('Sec-Ch-Ua-Platform'),
  }
