// SPDX-License-Identifier: Apache-2.0
/* np_atna_xml: one audit or event row as a DICOM Audit Message (PS3.15
 * A.5.1 schema, A.5.3 messages). What each row becomes is the table below;
 * the man page np-atna(8) lists it for the conformance statement. */
#include "np_atna.h"

#include "np_buf.h"
#include "np_crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message families of PS3.15 A.5.3 used here (EventID, DCM). */
enum kind {
	K_APP,	       /* 110100 Application Activity */
	K_AUDITLOG,    /* 110101 Audit Log Used */
	K_BEGIN,       /* 110102 Begin Transferring DICOM Instances */
	K_ACCESSED,    /* 110103 DICOM Instances Accessed */
	K_TRANSFERRED, /* 110104 DICOM Instances Transferred */
	K_DELETED,     /* 110105 DICOM Study Deleted */
	K_EXPORT,      /* 110106 Export */
	K_IMPORT,      /* 110107 Import */
	K_ALERT,       /* 110113 Security Alert */
	K_AUTH,	       /* 110114 User Authentication */
};

static const struct {
	const char *code, *text;
} event_ids[] = {
    [K_APP] = {"110100", "Application Activity"},
    [K_AUDITLOG] = {"110101", "Audit Log Used"},
    [K_BEGIN] = {"110102", "Begin Transferring DICOM Instances"},
    [K_ACCESSED] = {"110103", "DICOM Instances Accessed"},
    [K_TRANSFERRED] = {"110104", "DICOM Instances Transferred"},
    [K_DELETED] = {"110105", "DICOM Study Deleted"},
    [K_EXPORT] = {"110106", "Export"},
    [K_IMPORT] = {"110107", "Import"},
    [K_ALERT] = {"110113", "Security Alert"},
    [K_AUTH] = {"110114", "User Authentication"},
};

/* Which process of the agent took part (the non-human participant). */
enum proc { P_HTTPD, P_RECV, P_UPLOAD, P_DELIVER, P_RETAIN, P_ATNA };
static const char *const proc_names[] = {"np-httpd", "np-recv", "np-upload", "np-deliver", "np-retain", "np-atna"};

/* One row kind: table and action (events: type), the message, its
 * EventActionCode and EventTypeCode (DCM; NULL none). */
struct map {
	const char *table, *name;
	enum kind kind;
	char action;
	const char *type_code, *type_text;
	enum proc proc;
};

static const struct map maps[] = {
    {"audit", "login", K_AUTH, 'E', "110122", "Login", P_HTTPD},
    {"audit", "logout", K_AUTH, 'E', "110123", "Logout", P_HTTPD},
    /* A PHI reveal of one study is an access to it; of a list, the use of a
     * function restricted to some roles. */
    {"audit", "reveal", K_ACCESSED, 'R', NULL, NULL, P_HTTPD},
    {"audit", "bypass_qc", K_ACCESSED, 'U', "110132", "Use of Restricted Function", P_HTTPD},
    {"audit", "force_stable", K_ACCESSED, 'U', NULL, NULL, P_HTTPD},
    {"audit", "retry", K_ACCESSED, 'U', NULL, NULL, P_HTTPD},
    {"audit", "cancel", K_ACCESSED, 'U', NULL, NULL, P_HTTPD},
    {"audit", "delete", K_DELETED, 'D', NULL, NULL, P_HTTPD},
    {"audit", "manual_delivery", K_BEGIN, 'E', NULL, NULL, P_DELIVER},
    {"audit", "settings_change", K_ALERT, 'E', "110131", "Software Configuration", P_HTTPD},
    {"audit", "certificate_upload", K_ALERT, 'E', "110129", "Security Configuration", P_HTTPD},
    {"audit", "saml_sp_key_rotated", K_ALERT, 'E', "110129", "Security Configuration", P_HTTPD},
    {"audit", "sessions_revoked", K_ALERT, 'E', "110137", "User Security Attributes Changed", P_HTTPD},
    {"audit", "password_resync", K_ALERT, 'E', "110137", "User Security Attributes Changed", P_HTTPD},
    {"audit", "atna_test", K_ALERT, 'E', "110128", "Network Configuration", P_HTTPD},
    {"events", "new_dataset_received", K_TRANSFERRED, 'C', NULL, NULL, P_RECV},
    {"events", "upload_succeeded", K_EXPORT, 'R', NULL, NULL, P_UPLOAD},
    {"events", "upload_failed", K_EXPORT, 'R', NULL, NULL, P_UPLOAD},
    {"events", "report_delivered", K_TRANSFERRED, 'R', NULL, NULL, P_DELIVER},
    {"events", "report_delivery_failed", K_TRANSFERRED, 'R', NULL, NULL, P_DELIVER},
    {"events", "study_purged", K_DELETED, 'D', NULL, NULL, P_RETAIN},
    {"events", "association_rejected", K_ALERT, 'E', "110126", "Node Authentication", P_RECV},
    {"agent", "application_start", K_APP, 'E', "110120", "Application Start", P_ATNA},
    {"agent", "application_stop", K_APP, 'E', "110121", "Application Stop", P_ATNA},
    {"agent", "atna_test", K_APP, 'E', "110120", "Application Start", P_HTTPD},
    {"agent", "records_lost", K_ALERT, 'E', "110133", "Audit Recording Stopped", P_ATNA},
};

/* An audit action this table does not know (a newer np-httpd) is still
 * sent: a Security Alert "Use of Restricted Function" carrying its name. */
static const struct map audit_default = {"audit", "", K_ALERT, 'E', "110132", "Use of Restricted Function", P_HTTPD};
static const struct map audit_log_used = {"audit", "", K_AUDITLOG, 'R', NULL, NULL, P_HTTPD};

/* A Test delivery (a sample report, or a C-ECHO for a DICOM destination)
 * moves no study: a check of a network destination, not the start of a
 * transfer of DICOM instances. */
static const struct map test_delivery = {"audit",  "manual_delivery",	    K_ALERT, 'E',
					 "110128", "Network Configuration", P_HTTPD};

static const struct map *map_of(const struct np_atna_rec *r)
{
	const char *t = r->table ? r->table : "", *a = r->action ? r->action : "";
	if (!strcmp(t, "audit") && !strcmp(a, "manual_delivery") && r->detail && strstr(r->detail, "scope=test"))
		return &test_delivery;
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
		if (!strcmp(maps[i].table, t) && !strcmp(maps[i].name, a))
			return &maps[i];
	if (!strcmp(t, "audit"))
		return !strncmp(a, "audit", 5) ? &audit_log_used : &audit_default;
	return NULL;
}

/* XML text: the five markup characters escaped; what XML 1.0 cannot carry
 * (controls, invalid UTF-8) becomes '?', so that any row gives a message
 * that parses. */
static void esc(struct np_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	while (*p) {
		unsigned char c = *p;
		size_t n = 1;
		if (c >= 0x80) {
			size_t want = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
			size_t k = 1;
			while (want && k < want && (p[k] & 0xc0) == 0x80)
				k++;
			if (!want || k != want) {
				np_buf_str(b, "?");
				p++;
				continue;
			}
			np_buf_add(b, p, want);
			p += want;
			continue;
		}
		if (c == '&')
			np_buf_str(b, "&amp;");
		else if (c == '<')
			np_buf_str(b, "&lt;");
		else if (c == '>')
			np_buf_str(b, "&gt;");
		else if (c == '"')
			np_buf_str(b, "&quot;");
		else if (c == '\'')
			np_buf_str(b, "&apos;");
		else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
			np_buf_str(b, "?");
		else
			np_buf_add(b, p, n);
		p += n;
	}
}

static void attr(struct np_buf *b, const char *name, const char *v)
{
	np_buf_str(b, " ");
	np_buf_str(b, name);
	np_buf_str(b, "=\"");
	esc(b, v);
	np_buf_str(b, "\"");
}

/* A coded value (CodedValueType of the schema: csd-code, codeSystemName,
 * originalText). */
static void code(struct np_buf *b, const char *el, const char *c, const char *sys, const char *text)
{
	np_buf_str(b, "<");
	np_buf_str(b, el);
	attr(b, "csd-code", c);
	attr(b, "codeSystemName", sys);
	attr(b, "originalText", text);
	np_buf_str(b, "/>");
}

/* Local codes (the HL7 "99" prefix for site- or vendor-defined systems):
 * the agent's own action name and user roles, for filtering in a SIEM. */
#define LOCAL_SYS "99NEUROPACS"

static int is_ip(const char *s)
{
	if (!s || !*s)
		return 0;
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789abcdefABCDEF.:", *p))
			return 0;
	return 1;
}

struct participant {
	const char *user_id, *alt, *nap;
	int nap_type; /* 1 name, 2 IP address */
	int requestor;
	const char *role_code, *role_text, *role_sys;
};

static void participant(struct np_buf *b, const struct participant *p)
{
	np_buf_str(b, "<ActiveParticipant");
	attr(b, "UserID", p->user_id && *p->user_id ? p->user_id : "unknown");
	if (p->alt && *p->alt)
		attr(b, "AlternativeUserID", p->alt);
	attr(b, "UserIsRequestor", p->requestor ? "true" : "false");
	if (p->nap && *p->nap) {
		attr(b, "NetworkAccessPointID", p->nap);
		attr(b, "NetworkAccessPointTypeCode", p->nap_type == 2 ? "2" : "1");
	}
	np_buf_str(b, ">");
	if (p->role_code)
		code(b, "RoleIDCode", p->role_code, p->role_sys ? p->role_sys : "DCM", p->role_text);
	np_buf_str(b, "</ActiveParticipant>");
}

void np_atna_pseudonym(const unsigned char *key, size_t key_len, const char *patient_id, char out[24])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const char *id = patient_id ? patient_id : "";
	HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)id, strlen(id), mac, &n);
	memcpy(out, "NP-", 3);
	for (int i = 0; i < 10; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", mac[i]);
}

int np_atna_uuid_uid(const char *npuid, char out[48])
{
	unsigned char v[16];
	int n = 0;
	for (const char *p = npuid ? npuid : ""; *p && n < 32; p++) {
		if (*p == '-')
			continue;
		int d = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
						 : -1;
		if (d < 0)
			return -1;
		if (n % 2 == 0)
			v[n / 2] = (unsigned char)(d << 4);
		else
			v[n / 2] |= (unsigned char)d;
		n++;
	}
	if (n != 32 || strlen(npuid) != 36)
		return -1;
	/* Long division by 10 of the 128-bit big-endian number. */
	char digits[48];
	int nd = 0, zero = 0;
	while (!zero) {
		unsigned rem = 0;
		zero = 1;
		for (int i = 0; i < 16; i++) {
			unsigned cur = rem * 256 + v[i];
			v[i] = (unsigned char)(cur / 10);
			rem = cur % 10;
			if (v[i])
				zero = 0;
		}
		digits[nd++] = (char)('0' + rem);
	}
	memcpy(out, "2.25.", 5);
	for (int i = 0; i < nd; i++)
		out[5 + i] = digits[nd - 1 - i];
	out[5 + nd] = 0;
	return 0;
}

/* ParticipantObjectDetail: a type and a base64 value (the schema's
 * ValuePair), so that any text travels unchanged. */
static void detail_pair(struct np_buf *b, const char *type, const char *value)
{
	if (!value || !*value)
		return;
	char *v = np_b64_encode(value, strlen(value), NULL);
	if (!v) {
		b->oom = 1;
		return;
	}
	np_buf_str(b, "<ParticipantObjectDetail");
	attr(b, "type", type);
	attr(b, "value", v);
	np_buf_str(b, "/>");
	free(v);
}

static void study_object(struct np_buf *b, const struct np_atna_ctx *c, const struct np_atna_rec *r,
			 const char *lifecycle)
{
	char uid[48];
	const char *id = uid;
	if (c->include_patient_ids && r->study_uid && *r->study_uid)
		id = r->study_uid;
	else if (np_atna_uuid_uid(r->npuid, uid) < 0)
		snprintf(uid, sizeof uid, "unknown");
	np_buf_str(b, "<ParticipantObjectIdentification");
	attr(b, "ParticipantObjectID", id);
	attr(b, "ParticipantObjectTypeCode", "2");
	attr(b, "ParticipantObjectTypeCodeRole", "3");
	if (lifecycle)
		attr(b, "ParticipantObjectDataLifeCycle", lifecycle);
	np_buf_str(b, ">");
	code(b, "ParticipantObjectIDTypeCode", "110180", "DCM", "Study Instance UID");
	np_buf_str(b, "<ParticipantObjectName>");
	esc(b, r->npuid);
	np_buf_str(b, "</ParticipantObjectName>");
	detail_pair(b, "NeuropacsDetail", r->detail);
	if (c->include_patient_ids)
		detail_pair(b, "AccessionNumber", r->accession);
	np_buf_str(b, "</ParticipantObjectIdentification>");
}

/* The patient, when the study is still in the index: a pseudonym by
 * default, the Patient ID when the settings ask for it; never the name
 * (ParticipantObjectName repeats the identifier). */
static void patient_object(struct np_buf *b, const struct np_atna_ctx *c, const struct np_atna_rec *r)
{
	if (!r->patient_id || !*r->patient_id)
		return;
	char pseudo[24];
	const char *id = r->patient_id;
	if (!c->include_patient_ids) {
		np_atna_pseudonym(c->key, c->key_len, r->patient_id, pseudo);
		id = pseudo;
	}
	np_buf_str(b, "<ParticipantObjectIdentification");
	attr(b, "ParticipantObjectID", id);
	attr(b, "ParticipantObjectTypeCode", "1");
	attr(b, "ParticipantObjectTypeCodeRole", "1");
	np_buf_str(b, ">");
	code(b, "ParticipantObjectIDTypeCode", "2", "RFC-3881", "Patient Number");
	np_buf_str(b, "<ParticipantObjectName>");
	esc(b, id);
	np_buf_str(b, "</ParticipantObjectName>");
	np_buf_str(b, "</ParticipantObjectIdentification>");
}

/* A part of the agent itself (its settings, its audit log, a peer node):
 * a system object named by a URI of the agent, with the row's detail. */
static void system_object(struct np_buf *b, const char *id, const char *name, const char *role, const char *id_code,
			  const char *id_sys, const char *id_text, const char *dtype, const char *detail)
{
	np_buf_str(b, "<ParticipantObjectIdentification");
	attr(b, "ParticipantObjectID", id);
	attr(b, "ParticipantObjectTypeCode", "2");
	attr(b, "ParticipantObjectTypeCodeRole", role);
	np_buf_str(b, ">");
	code(b, "ParticipantObjectIDTypeCode", id_code, id_sys, id_text);
	np_buf_str(b, "<ParticipantObjectName>");
	esc(b, name);
	np_buf_str(b, "</ParticipantObjectName>");
	detail_pair(b, dtype, detail);
	np_buf_str(b, "</ParticipantObjectIdentification>");
}

/* key=value from a detail string ("peer=1.2.3.4:5 calling_ae=X"). */
static void detail_get(const char *detail, const char *key, char *out, size_t sz)
{
	out[0] = 0;
	size_t kl = strlen(key);
	for (const char *p = detail ? detail : ""; *p;) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t n = strcspn(v, " ");
			snprintf(out, sz, "%.*s", (int)(n < sz ? n : sz - 1), v);
			return;
		}
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
}

static const char *outcome_of(const struct np_atna_rec *r, const struct map *m)
{
	const char *a = r->action ? r->action : "";
	if (!strcmp(r->table, "audit")) {
		const char *o = r->outcome ? r->outcome : "";
		if (!strcmp(o, "success") || !strcmp(o, "pending"))
			return "0";
		/* A failed login is a minor failure: the user may retry (PS3.15 A.5.2). */
		if (!strcmp(o, "failure") && m->kind != K_AUTH)
			return "8";
		return "4";
	}
	if (!strcmp(a, "records_lost") || !strcmp(a, "upload_failed") || !strcmp(a, "report_delivery_failed"))
		return "8";
	if (!strcmp(a, "association_rejected"))
		return "4";
	if (r->level && !strcmp(r->level, "error"))
		return "8";
	return "0";
}

static void agent_participant(struct np_buf *b, const struct np_atna_ctx *c, enum proc p, int requestor,
			      const char *role_code, const char *role_text)
{
	char alt[64] = "";
	if ((p == P_RECV || p == P_DELIVER) && c->ae_title && *c->ae_title)
		snprintf(alt, sizeof alt, "AETITLES=%s", c->ae_title);
	struct participant pa = {proc_names[p], alt, c->host, 1, requestor, role_code, role_text, NULL};
	participant(b, &pa);
}

/* The report destinations, one participant each. */
static void destinations(struct np_buf *b, const struct np_atna_ctx *c)
{
	int any = 0;
	for (int i = 0; c->destinations && c->destinations[i]; i++) {
		struct participant pa = {c->destinations[i], NULL, NULL, 1, 0, "110152", "Destination Role ID", NULL};
		participant(b, &pa);
		any = 1;
	}
	if (!any) {
		struct participant pa = {"no destination configured", NULL, NULL, 1, 0, "110152",
					 "Destination Role ID",	      NULL};
		participant(b, &pa);
	}
}

static void participants(struct np_buf *b, const struct np_atna_ctx *c, const struct np_atna_rec *r,
			 const struct map *m)
{
	const char *a = r->action ? r->action : "";
	if (!strcmp(r->table, "audit") || (!strcmp(r->table, "agent") && r->actor)) {
		/* A person: the user of the UI (client address) or an admin at
		 * the machine (client "local"). */
		int local = !r->client || !strcmp(r->client, "local") || !*r->client;
		struct participant u = {
		    r->actor, NULL, local ? c->host : r->client, local || !is_ip(r->client) ? 1 : 2, 1, NULL,
		    NULL,     NULL};
		if (r->role && *r->role && m->kind != K_APP) {
			u.role_code = r->role;
			u.role_text = r->role;
			u.role_sys = LOCAL_SYS;
		}
		if (m->kind == K_APP) {
			u.role_code = "110151";
			u.role_text = "Application Launcher";
		}
		participant(b, &u);
		if (m->kind == K_BEGIN) {
			agent_participant(b, c, P_DELIVER, 0, "110153", "Source Role ID");
			destinations(b, c);
		} else if (m->kind == K_APP) {
			agent_participant(b, c, P_HTTPD, 0, "110150", "Application");
		} else {
			agent_participant(b, c, local ? P_ATNA : P_HTTPD, 0, NULL, NULL);
		}
		return;
	}
	switch (m->kind) {
	case K_APP:
		agent_participant(b, c, m->proc, 0, "110150", "Application");
		break;
	case K_TRANSFERRED:
		if (!strcmp(a, "new_dataset_received")) {
			char alt[64] = "";
			const char *ae = r->calling_ae && *r->calling_ae ? r->calling_ae : NULL;
			if (ae)
				snprintf(alt, sizeof alt, "AETITLES=%s", ae);
			struct participant src = {ae, alt, NULL, 1, 1, "110153", "Source Role ID", NULL};
			participant(b, &src);
			agent_participant(b, c, P_RECV, 0, "110152", "Destination Role ID");
		} else {
			agent_participant(b, c, P_DELIVER, 1, "110153", "Source Role ID");
			destinations(b, c);
		}
		break;
	case K_IMPORT:
		agent_participant(b, c, P_HTTPD, 1, "110152", "Destination Role ID");
		break;
	case K_EXPORT: {
		agent_participant(b, c, P_UPLOAD, 1, "110153", "Source Role ID");
		char url[300];
		snprintf(url, sizeof url, "https://%s", c->cloud && *c->cloud ? c->cloud : "cloud.neuropacs.com");
		struct participant dst = {url, NULL, c->cloud, 1, 0, "110154", "Destination Media", NULL};
		participant(b, &dst);
		break;
	}
	case K_ALERT:
		if (!strcmp(a, "association_rejected")) {
			char peer[80], ae[40];
			detail_get(r->detail, "peer", peer, sizeof peer);
			detail_get(r->detail, "calling_ae", ae, sizeof ae);
			/* peer is address:port; the port is not part of the node. */
			char *colon = strrchr(peer, ':');
			if (colon)
				*colon = 0;
			agent_participant(b, c, P_RECV, 1, NULL, NULL);
			char alt[64] = "";
			if (*ae)
				snprintf(alt, sizeof alt, "AETITLES=%s", ae);
			struct participant o = {*ae ? ae : peer, alt, peer, is_ip(peer) ? 2 : 1, 0, NULL, NULL, NULL};
			participant(b, &o);
		} else {
			agent_participant(b, c, m->proc, 1, NULL, NULL);
		}
		break;
	default:
		agent_participant(b, c, m->proc, 1, NULL, NULL);
	}
}

static void objects(struct np_buf *b, const struct np_atna_ctx *c, const struct np_atna_rec *r, const struct map *m)
{
	const char *a = r->action ? r->action : "";
	int study = r->npuid && *r->npuid &&
		    (m->kind == K_ACCESSED || m->kind == K_DELETED || m->kind == K_TRANSFERRED || m->kind == K_BEGIN ||
		     m->kind == K_EXPORT || m->kind == K_IMPORT || m->kind == K_ALERT);
	if (study) {
		const char *life = m->kind == K_EXPORT			? "10"
				   : m->kind == K_DELETED		? (strcmp(r->table, "events") ? "14" : "15")
				   : m->kind == K_IMPORT		? "2"
				   : !strcmp(a, "new_dataset_received") ? "2"
									: NULL;
		study_object(b, c, r, life);
		patient_object(b, c, r);
		return;
	}
	switch (m->kind) {
	case K_AUTH:
	case K_APP:
		/* No participant object in these messages (A.5.3.1, A.5.3.13);
		 * the test and the lost records say what they are. */
		if (!strcmp(a, "atna_test"))
			system_object(b, "urn:neuropacs-agent:atna", "audit record repository connection test", "13",
				      "12", "RFC-3881", "URI", "NeuropacsDetail", r->detail);
		return;
	case K_AUDITLOG:
		system_object(b, "urn:neuropacs-agent:audit", "Security Audit Log", "13", "12", "RFC-3881", "URI",
			      "NeuropacsDetail", r->detail);
		return;
	case K_ALERT: {
		char id[128], peer[80];
		if (!strcmp(a, "association_rejected")) {
			detail_get(r->detail, "peer", peer, sizeof peer);
			char *colon = strrchr(peer, ':');
			if (colon)
				*colon = 0;
			system_object(b, *peer ? peer : "unknown", "DICOM association refused", "13", "110182", "DCM",
				      "Node ID", "Alert Description", r->detail);
			return;
		}
		snprintf(id, sizeof id, "urn:neuropacs-agent:%s", a);
		system_object(b, id, a, "13", "12", "RFC-3881", "URI", "Alert Description", r->detail);
		return;
	}
	default: {
		char id[128];
		snprintf(id, sizeof id, "urn:neuropacs-agent:%s", a);
		system_object(b, id, a, "4", "12", "RFC-3881", "URI", "NeuropacsDetail", r->detail);
	}
	}
}

int np_atna_render(const struct np_atna_ctx *c, const struct np_atna_rec *r, struct np_buf *b)
{
	const struct map *m = map_of(r);
	if (!m)
		return 0;
	const char *a = r->action ? r->action : "";
	char act[2] = {m->action, 0};
	const char *outcome = outcome_of(r, m);
	np_buf_str(b, "<AuditMessage><EventIdentification");
	attr(b, "EventActionCode", act);
	attr(b, "EventDateTime", r->ts);
	attr(b, "EventOutcomeIndicator", outcome);
	np_buf_str(b, ">");
	code(b, "EventID", event_ids[m->kind].code, "DCM", event_ids[m->kind].text);
	if (m->type_code)
		code(b, "EventTypeCode", m->type_code, "DCM", m->type_text);
	/* A reveal of many studies at once is a restricted function (no one
	 * study to name). */
	if (!strcmp(a, "reveal") && !(r->npuid && *r->npuid))
		code(b, "EventTypeCode", "110132", "DCM", "Use of Restricted Function");
	code(b, "EventTypeCode", a, LOCAL_SYS, a);
	if (strcmp(outcome, "0")) {
		np_buf_str(b, "<EventOutcomeDescription>");
		esc(b, r->outcome && *r->outcome ? r->outcome : r->level && *r->level ? r->level : "failure");
		if (r->detail && *r->detail) {
			np_buf_str(b, ": ");
			esc(b, r->detail);
		}
		np_buf_str(b, "</EventOutcomeDescription>");
	}
	np_buf_str(b, "</EventIdentification>");
	participants(b, c, r, m);
	np_buf_str(b, "<AuditSourceIdentification");
	if (c->site_id && *c->site_id)
		attr(b, "AuditEnterpriseSiteID", c->site_id);
	attr(b, "AuditSourceID", c->source_id && *c->source_id ? c->source_id : "neuropacs-agent");
	/* 4: application server process (A.5.1.2.1). */
	np_buf_str(b, "><AuditSourceTypeCode csd-code=\"4\"/></AuditSourceIdentification>");
	objects(b, c, r, m);
	np_buf_str(b, "</AuditMessage>");
	return b->oom ? -1 : 1;
}
