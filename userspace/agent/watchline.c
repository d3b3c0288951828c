// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * One line of a Kubernetes watch stream:
 *   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}
 * ERROR events carry a Status object ({"code":410,"reason":"Expired"}).
 * Anything else is rejected so that the caller restarts the stream
 * rather than acting on half-understood data.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"

static const struct {
	const char *name;
	enum watch_type type;
} watch_types[] = {
	{ "ADDED", WATCH_ADDED },
	{ "MODIFIED", WATCH_MODIFIED },
	{ "DELETED", WATCH_DELETED },
	{ "BOOKMARK", WATCH_BOOKMARK },
	{ "ERROR", WATCH_ERROR },
};

static const char *string_member(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static bool only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			return false;
	return true;
}

int watch_line_parse(const char *line, size_t len, struct watch_line *out)
{
	const cJSON *type, *meta, *code;
	const char *end = NULL;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->root = cJSON_ParseWithLengthOpts(line, len, &end, false);
	/* one JSON document per line: trailing bytes mean a broken stream */
	if (!out->root || !end || end < line || end > line + len ||
	    !only_space(end, line + len) || !cJSON_IsObject(out->root))
		goto bad;

	type = cJSON_GetObjectItemCaseSensitive(out->root, "type");
	if (!cJSON_IsString(type))
		goto bad;
	for (i = 0; i < sizeof(watch_types) / sizeof(watch_types[0]); i++)
		if (!strcmp(type->valuestring, watch_types[i].name))
			break;
	if (i == sizeof(watch_types) / sizeof(watch_types[0]))
		goto bad;
	out->type = watch_types[i].type;

	out->object = cJSON_GetObjectItemCaseSensitive(out->root, "object");
	if (!cJSON_IsObject(out->object))
		goto bad;
	meta = cJSON_GetObjectItemCaseSensitive(out->object, "metadata");
	out->resource_version = string_member(meta, "resourceVersion");
	if (out->resource_version && !out->resource_version[0])
		out->resource_version = NULL;
	if (out->type == WATCH_BOOKMARK && !out->resource_version)
		goto bad;

	if (out->type == WATCH_ERROR) {
		code = cJSON_GetObjectItemCaseSensitive(out->object, "code");
		if (cJSON_IsNumber(code) && code->valuedouble >= 0 &&
		    code->valuedouble < 1000)
			out->code = (int)code->valuedouble;
		out->reason = string_member(out->object, "reason");
	}
	return 0;
bad:
	watch_line_free(out);
	return -EINVAL;
}

void watch_line_free(struct watch_line *wl)
{
	cJSON_Delete(wl->root);
	memset(wl, 0, sizeof(*wl));
}
