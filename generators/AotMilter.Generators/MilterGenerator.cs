using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

/// <summary>
/// Turns [Milter] classes into dispatchers and registrations, and gives every executable the list of all filters it
/// links. This file is the pipeline only: <c>MilterGenerator.Parser.cs</c> turns symbols into models,
/// <c>MilterGenerator.Emitter.cs</c> turns models into source.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class MilterGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // One result per [Milter] class: a model, or diagnostics that say why there is none.
        IncrementalValuesProvider<FilterParseResult> results = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.MilterAttribute,
                static (node, _) => node is ClassDeclarationSyntax or RecordDeclarationSyntax,
                static (ctx, ct) => Parser.ParseFilter(ctx, ct))
            .WithTrackingName(TrackingNames.FilterResults);

        IncrementalValueProvider<CompilationInfo> compilation = context.CompilationProvider
            .Select(static (c, ct) => Parser.ParseCompilation(c, ct))
            .WithTrackingName(TrackingNames.CompilationInfo);

        IncrementalValueProvider<string> ns = compilation.Select(static (c, _) => c.Namespace);

        IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> filterDiagnostics = results
            .Select(static (r, _) => r.Diagnostics)
            .WithTrackingName(TrackingNames.FilterDiagnostics);
        context.RegisterSourceOutput(filterDiagnostics, static (spc, d) => Report(spc, d));

        // Callback attributes in classes without [Milter]: one provider per attribute, found through the same index.
        foreach (string attribute in KnownNames.CallbackAttributes)
        {
            IncrementalValuesProvider<EquatableArray<DiagnosticInfo>> orphans = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    attribute,
                    static (node, _) => node is MethodDeclarationSyntax or LocalFunctionStatementSyntax,
                    static (ctx, ct) => Parser.ParseOrphanCallback(ctx, ct))
                .WithTrackingName(TrackingNames.OrphanCallbacks);
            context.RegisterSourceOutput(orphans, static (spc, d) => Report(spc, d));
        }

        // Per filter: the file-local dispatcher and the catalog method that registers it.
        IncrementalValuesProvider<(FilterModel Filter, string Namespace)> filters = results
            .Where(static r => r.Filter is not null)
            .Select(static (r, _) => r.Filter!)
            .WithTrackingName(TrackingNames.Filters)
            .Combine(ns)
            .WithTrackingName(TrackingNames.FilterSources);
        context.RegisterSourceOutput(filters, static (spc, f) => Emitter.EmitFilter(spc, f.Filter, f.Namespace));

        // Per assembly: the catalog of its filters.
        IncrementalValueProvider<CatalogModel> catalog = results
            .Where(static r => r.Filter is not null)
            .Select(static (r, _) => new CatalogEntry(r.Filter!.Name, r.Filter.TypeName, r.Filter.FactoryName, r.Location))
            .Collect()
            .Combine(ns)
            .Select(static (x, _) => Parser.BuildCatalog(x.Left, x.Right))
            .WithTrackingName(TrackingNames.Catalog);
        context.RegisterSourceOutput(catalog, static (spc, c) => Emitter.EmitCatalog(spc, c));
        context.RegisterSourceOutput(
            catalog.Select(static (c, _) => c.Diagnostics).WithTrackingName(TrackingNames.CatalogDiagnostics),
            static (spc, d) => Report(spc, d));

        // Per executable: every filter of the assembly and of the filter assemblies it references.
        IncrementalValueProvider<LinkedModel> linked = compilation
            .Combine(catalog)
            .Select(static (x, _) => Parser.BuildLinked(x.Left, x.Right))
            .WithTrackingName(TrackingNames.Linked);
        context.RegisterSourceOutput(linked, static (spc, l) => Emitter.EmitLinked(spc, l));
        context.RegisterSourceOutput(
            linked.Select(static (l, _) => l.Diagnostics).WithTrackingName(TrackingNames.LinkedDiagnostics),
            static (spc, d) => Report(spc, d));
    }

    private static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (DiagnosticInfo diagnostic in diagnostics)
        {
            context.ReportDiagnostic(diagnostic.ToDiagnostic());
        }
    }
}
