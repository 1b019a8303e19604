//! The OpenAPI 3.1 document served at `/api/openapi.json`. Its paths come from the route
//! table (`routes::api`, each handler's `#[utoipa::path]`); this module adds what every
//! operation shares: the info, the component schemas of the API types ([`base`]), bearer
//! authentication unless an operation says otherwise, and [`api::ApiError`] as every error
//! response ([`complete`]).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _};

use crate::control::api;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Lyceum control plane",
        description = "Clusters, members and roles, credentials, projects, status, cost and audit."
    ),
    security(("bearer" = [])),
    modifiers(&Bearer),
    components(schemas(
        api::Role,
        api::Tier,
        api::TierConfig,
        api::ProviderKind,
        api::ClusterConfig,
        api::ClusterState,
        api::Cluster,
        api::ClusterUpdate,
        api::DeleteRequest,
        api::Member,
        api::Project,
        api::ProjectState,
        api::NewProject,
        api::Credential,
        api::NewCredential,
        api::IssuedCredential,
        api::NodeStatus,
        api::ClusterStatus,
        api::TierCost,
        api::CostEstimate,
        api::Usage,
        api::UsageSample,
        api::AuditEntry,
        api::Credentials,
        api::Session,
        api::NewToken,
        api::TokenInfo,
        api::IssuedToken,
        api::Region,
        api::Price,
        api::ReferenceData,
        api::ApiError
    ))
)]
struct Base;

/// The `bearer` security scheme every operation requires unless it declares `security(())`.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The document before the routes add their paths.
pub(super) fn base() -> OpenApi {
    Base::openapi()
}

/// Every operation's errors are [`api::ApiError`] (see `ControlError`), so that is stated here
/// once rather than on each handler.
pub(super) fn complete(mut document: OpenApi) -> OpenApi {
    let error = ResponseBuilder::new()
        .description("error")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ApiError")))
                .build(),
        )
        .build();
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .insert("default".to_owned(), error.clone().into());
        }
    }
    document
}

#[cfg(test)]
mod tests {
    /// The document as served, as JSON.
    fn document() -> serde_json::Value {
        let document = super::complete(super::super::routes::api().into_openapi());
        serde_json::to_value(document).unwrap_or_default()
    }

    #[test]
    fn every_operation_declares_its_path_parameters_and_responses() {
        let document = document();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        assert!(paths.len() >= 20, "{paths:?}");
        for (path, item) in &paths {
            let templated: Vec<&str> = path
                .split('/')
                .filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                .collect();
            for (method, operation) in item.as_object().into_iter().flatten() {
                let declared: Vec<&str> = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                assert_eq!(declared, templated, "{method} {path}");
                let responses = operation["responses"].as_object();
                assert!(
                    responses.is_some_and(|r| r.keys().any(|k| k.starts_with('2'))),
                    "{method} {path}: no success response"
                );
                assert_eq!(
                    operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ApiError",
                    "{method} {path}"
                );
                assert!(operation["summary"].is_string(), "{method} {path}");
            }
        }
    }

    #[test]
    fn only_bootstrap_and_login_go_without_a_token() {
        let document = document();
        assert_eq!(document["security"], serde_json::json!([{ "bearer": [] }]));
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
        let open: Vec<String> = document["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, operation)| !operation["security"].is_null())
                    .map(move |(method, _)| format!("{method} {path}"))
            })
            .collect();
        assert_eq!(
            open,
            ["post /api/auth/bootstrap", "post /api/auth/login"],
            "operations with their own security"
        );
    }

    /// The API types' doc comments are the schemas' descriptions (`ToSchema` copies them), so
    /// an undocumented type, field or enum value shows up here as well as in `missing_docs`.
    #[test]
    fn every_schema_property_and_enum_value_is_described() {
        let document = document();
        let schemas = document["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(schemas.len() >= 30, "{schemas:?}");
        let described = |value: &serde_json::Value| {
            value["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty())
        };
        for (name, schema) in &schemas {
            assert!(described(schema), "schema {name} has no description");
            // Plain enums are a list of strings: utoipa drops the variants' doc comments, so
            // the schema's description must say what each value means.
            for value in schema["enum"].as_array().into_iter().flatten() {
                let value = value.as_str().unwrap_or_default();
                assert!(
                    schema["description"]
                        .as_str()
                        .is_some_and(|d| d.contains(&format!("`{value}`"))),
                    "schema {name}: the description does not explain `{value}`"
                );
            }
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                // A `$ref` carries its description beside it (OpenAPI 3.1), except for an
                // optional reference: utoipa writes `oneOf: [$ref, null]` and puts the field's
                // description on the `$ref` member.
                let nested = property["oneOf"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|member| member["$ref"].is_string() && described(member));
                assert!(
                    described(property) || nested,
                    "{name}.{field} has no description"
                );
            }
        }
    }
}
