using System.Collections.Immutable;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        public static CompilationInfo ParseCompilation(Compilation compilation, CancellationToken cancellationToken)
        {
            string ns = KnownNames.GeneratedNamespace + "." + SanitizeIdentifier(compilation.AssemblyName ?? "Assembly");
            bool executable = compilation.Options.OutputKind is OutputKind.ConsoleApplication or OutputKind.WindowsApplication;
            bool hasAbstractions = compilation.GetTypeByMetadataName(KnownNames.MilterRegistration) is not null;
            if (!executable || !hasAbstractions)
            {
                return new CompilationInfo(ns, executable, hasAbstractions, EquatableArray<ReferencedCatalog>.Empty);
            }

            var catalogs = new List<ReferencedCatalog>();
            foreach (IAssemblySymbol assembly in compilation.SourceModule.ReferencedAssemblySymbols)
            {
                cancellationToken.ThrowIfCancellationRequested();
                foreach (AttributeData attribute in assembly.GetAttributes())
                {
                    if (!FilterSymbols.IsNamed(attribute.AttributeClass, KnownNames.MilterCatalogAttribute)
                        || attribute.ConstructorArguments.Length != 1
                        || attribute.ConstructorArguments[0].Value is not INamedTypeSymbol catalog)
                    {
                        continue;
                    }

                    string? names = catalog.GetMembers(KnownNames.CatalogFilterNames).OfType<IFieldSymbol>().FirstOrDefault()?.ConstantValue as string;
                    catalogs.Add(new ReferencedCatalog(
                        assembly.Name,
                        catalog.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat),
                        (names ?? "").Split([' '], StringSplitOptions.RemoveEmptyEntries).ToEquatableArray()));
                }
            }

            catalogs.Sort(static (a, b) => string.CompareOrdinal(a.TypeName, b.TypeName));
            return new CompilationInfo(ns, executable, hasAbstractions, catalogs.ToEquatableArray());
        }

        /// <summary>Sorts the assembly's filters by name and leaves out (and reports) any whose name is taken.</summary>
        public static CatalogModel BuildCatalog(ImmutableArray<CatalogEntry> entries, string ns)
        {
            var kept = new List<CatalogEntry>(entries.Length);
            var diagnostics = new List<DiagnosticInfo>();
            IOrderedEnumerable<CatalogEntry> ordered = entries
                .OrderBy(static e => e.Name, StringComparer.Ordinal)
                .ThenBy(static e => e.TypeName, StringComparer.Ordinal);
            foreach (CatalogEntry entry in ordered)
            {
                if (kept.Count > 0 && kept[kept.Count - 1].Name == entry.Name)
                {
                    diagnostics.Add(DiagnosticInfo.Create(
                        DiagnosticDescriptors.DuplicateFilterName,
                        entry.Location,
                        entry.Name,
                        "'" + kept[kept.Count - 1].TypeName + "'",
                        "'" + entry.TypeName + "'"));
                    continue;
                }

                kept.Add(entry);
            }

            return new CatalogModel(ns, kept.ToEquatableArray(), diagnostics.ToEquatableArray());
        }

        /// <summary>The executable's list: its own catalog first, then the referenced ones; names must be unique.</summary>
        public static LinkedModel BuildLinked(CompilationInfo compilation, CatalogModel catalog)
        {
            if (!compilation.IsExecutable || !compilation.HasAbstractions)
            {
                return new LinkedModel(false, EquatableArray<string>.Empty, EquatableArray<DiagnosticInfo>.Empty);
            }

            var types = new List<string>();
            var owners = new Dictionary<string, (string Owner, LocationInfo? Location)>(StringComparer.Ordinal);
            var diagnostics = new List<DiagnosticInfo>();
            if (!catalog.Entries.IsEmpty)
            {
                types.Add("global::" + catalog.Namespace + "." + KnownNames.CatalogClass);
                foreach (CatalogEntry entry in catalog.Entries)
                {
                    owners[entry.Name] = ("'" + entry.TypeName + "'", entry.Location);
                }
            }

            foreach (ReferencedCatalog reference in compilation.References)
            {
                types.Add(reference.TypeName);
                string owner = "assembly '" + reference.AssemblyName + "'";
                foreach (string name in reference.FilterNames)
                {
                    if (owners.TryGetValue(name, out (string Owner, LocationInfo? Location) first))
                    {
                        diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.DuplicateFilterName, first.Location, name, first.Owner, owner));
                        continue;
                    }

                    owners[name] = (owner, null);
                }
            }

            return new LinkedModel(true, types.ToEquatableArray(), diagnostics.ToEquatableArray());
        }
    }
}
