/* rest_call.c - the REST request for each lifecycle action (see rc_rest_call.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "rc_http.h"
#include "rc_rest_call.h"

#define SUBSCRIPTIONS "/restapi/v1.0/subscription"

/* server + path [+ "/" + escaped id] [+ suffix]; heap, NULL on no memory. */
static char *rest_call__url(const char *server, const char *path, const char *id,
		const char *suffix)
{
	char *url = NULL;
	char *eid = id != NULL ? rc_url_escape(id) : NULL;

	if (id != NULL && eid == NULL)
		return NULL;
	if (asprintf(&url, "%s%s%s%s%s", server, path, eid != NULL ? "/" : "",
			eid != NULL ? eid : "", suffix != NULL ? suffix : "") < 0)
		url = NULL;
	curl_free(eid);
	return url;
}

static char *rest_call__grant(enum rc_lc_action act, const struct rc_rest_call *c)
{
	const struct rc_config *cfg = c->cfg;

	if (act == RC_ACT_REFRESH)
		return c->token->refresh_token != NULL ? rc_token_body_refresh(c->token->refresh_token) : NULL;
	if (cfg->auth_mode == RC_AUTH_JWT)
		return rc_token_body_jwt(cfg->jwt);
	return rc_token_body_password(cfg->username, cfg->extension, cfg->password);
}

/* Method, URL and body of act (heap; the caller frees both). */
static void rest_call__shape(enum rc_lc_action act, const struct rc_rest_call *c,
		struct rc_http_target *t, char **url, char **body)
{
	const char *server = c->cfg->server;
	bool needs_id = act == RC_ACT_RESUME || act == RC_ACT_CHECK || act == RC_ACT_RENEW ||
			act == RC_ACT_MODIFY || act == RC_ACT_DELETE;

	if (needs_id && c->sub_id == NULL)
		return;
	switch (act) {
	case RC_ACT_LOGIN:
	case RC_ACT_REFRESH:
		t->method = "POST";
		*url = rest_call__url(server, "/restapi/oauth/token", NULL, NULL);
		*body = rest_call__grant(act, c);
		t->content_type = "application/x-www-form-urlencoded";
		break;
	case RC_ACT_RESUME:
	case RC_ACT_CHECK:
		t->method = "GET";
		*url = rest_call__url(server, SUBSCRIPTIONS, c->sub_id, NULL);
		break;
	case RC_ACT_CREATE:
		t->method = "POST";
		*url = rest_call__url(server, SUBSCRIPTIONS, NULL, NULL);
		*body = rc_subscription_create_body(c->filters, c->n_filters, c->cfg->expires_in,
				c->delivery_type);
		t->content_type = "application/json";
		break;
	case RC_ACT_RENEW:
		t->method = "POST";
		*url = rest_call__url(server, SUBSCRIPTIONS, c->sub_id, "/renew");
		break;
	case RC_ACT_MODIFY:
		t->method = "PUT";
		*url = rest_call__url(server, SUBSCRIPTIONS, c->sub_id, NULL);
		*body = rc_subscription_modify_body(c->filters, c->n_filters, c->cfg->expires_in);
		t->content_type = "application/json";
		break;
	case RC_ACT_DELETE:
		t->method = "DELETE";
		*url = rest_call__url(server, SUBSCRIPTIONS, c->sub_id, NULL);
		break;
	case RC_ACT_LIST:
		t->method = "GET";
		*url = rest_call__url(server, SUBSCRIPTIONS, NULL, NULL);
		break;
	case RC_ACT_WSTOKEN:
		t->method = "POST";
		*url = rest_call__url(server, "/restapi/oauth/wstoken", NULL, NULL);
		break;
	case RC_ACT_DELETE_ORPHAN:
		t->method = "DELETE";
		if (c->orphan_id != NULL)
			*url = rest_call__url(server, SUBSCRIPTIONS, c->orphan_id, NULL);
		break;
	case RC_ACT_NONE:
		break;
	}
}

int rc_rest_call_prepare(struct rc_http *h, enum rc_lc_action act, const struct rc_rest_call *c)
{
	struct rc_http_target t = {
		.cafile = c->cfg->cafile,
		.timeout_s = c->timeout_s,
		.max_answer = c->max_answer,
		.on_done = c->on_done,
		.done_arg = c->done_arg,
	};
	char *url = NULL;
	char *body = NULL;

	rest_call__shape(act, c, &t, &url, &body);
	t.url = url;
	t.body = body;
	int rc = (url != NULL && (t.content_type == NULL || body != NULL) &&
			rc_http_prepare(h, &t) == 0) ? 0 : -1;
	if (body != NULL) {
		OPENSSL_cleanse(body, strlen(body)); /* grants carry credentials */
		free(body);
	}
	free(url);
	if (rc != 0) {
		rc_http_reset(h);
		return -1;
	}
	/* The token endpoint authenticates the app; everything else the user's session. */
	if (act == RC_ACT_LOGIN || act == RC_ACT_REFRESH)
		rc_http_basic_auth(h, c->cfg->client_id, c->cfg->client_secret);
	else
		rc_http_bearer(h, c->token->access_token);
	return 0;
}
