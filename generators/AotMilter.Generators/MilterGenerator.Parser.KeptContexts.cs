using System.Collections.Generic;
using System.Linq;
using System.Threading;
using AotMilter.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace AotMilter.Generators;

public sealed partial class MilterGenerator
{
    internal static partial class Parser
    {
        /// <summary>
        /// Reports (AOTM024) where the filter class's own code keeps its <c>MilterContext</c> or <c>MessageEditor</c>
        /// where a later connection could reach it: the daemon pools connections and hands the same context and
        /// editor to the next one, possibly on another I/O thread. Instance fields of the filter are fine (the filter
        /// lives as long as its connection); static members, members of other types and delegates started without
        /// anyone waiting for them are not.
        /// </summary>
        private static void ScanKeptContexts(
            INamedTypeSymbol type,
            string typeName,
            KnownTypes known,
            SemanticModel targetModel,
            List<DiagnosticInfo> diagnostics,
            CancellationToken cancellationToken)
        {
            if (known.Context is null && known.MessageEditor is null)
            {
                return;
            }

            ReportStaticMembers(type);
            foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
            {
                SyntaxNode declaration = reference.GetSyntax(cancellationToken);
                SemanticModel model = ModelFor(declaration, targetModel);
                foreach (SyntaxNode node in declaration.DescendantNodes())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    switch (node)
                    {
                        case AssignmentExpressionSyntax assignment:
                            InspectAssignment(assignment, model);
                            break;
                        case InvocationExpressionSyntax invocation when IsDiscarded(invocation):
                            if (model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol method && IsDeferring(method))
                            {
                                InspectDelegates(invocation.ArgumentList, model, "'" + MethodDisplay(method) + "', which nobody awaits");
                            }

                            break;
                        case BaseObjectCreationExpressionSyntax { ArgumentList: { } arguments } creation:
                            if (model.GetTypeInfo(creation, cancellationToken).Type is INamedTypeSymbol created
                                && (IsNamed(created, "System.Threading.Thread") || IsNamed(created, "System.Threading.Timer")))
                            {
                                InspectDelegates(arguments, model, "'new " + created.Name + "'");
                            }

                            break;
                    }
                }
            }

            void ReportStaticMembers(INamedTypeSymbol declaring)
            {
                foreach (ISymbol member in declaring.GetMembers())
                {
                    switch (member)
                    {
                        case IFieldSymbol { IsStatic: true, IsImplicitlyDeclared: false } field when Keeps(field.Type):
                            Report(field.Locations.Length > 0 ? LocationInfo.From(field.Locations[0]) : null, field.Type, "in static field '" + field.Name + "'");
                            break;
                        case IPropertySymbol { IsStatic: true } property when Keeps(property.Type):
                            Report(property.Locations.Length > 0 ? LocationInfo.From(property.Locations[0]) : null, property.Type, "in static property '" + property.Name + "'");
                            break;
                        case INamedTypeSymbol nested:
                            ReportStaticMembers(nested);
                            break;
                    }
                }
            }

            void InspectAssignment(AssignmentExpressionSyntax assignment, SemanticModel model)
            {
                ITypeSymbol? value = model.GetTypeInfo(assignment.Right, cancellationToken).Type;
                if (!Keeps(value))
                {
                    return;
                }

                ISymbol? target = model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol;
                ITypeSymbol? targetType = target switch
                {
                    IFieldSymbol f => f.Type,
                    IPropertySymbol p => p.Type,
                    _ => null,
                };
                if (targetType is null || target!.ContainingType is not { } owner)
                {
                    return; // a local, a parameter, a discard
                }

                bool ownMember = IsWithin(owner, type);
                if (ownMember && !target.IsStatic)
                {
                    return;
                }

                // A static member of the class with a kept type was reported where it is declared.
                if (ownMember && Keeps(targetType))
                {
                    return;
                }

                string where = (target.IsStatic ? "in static '" : "in '") + owner.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat) + "." + target.Name + "'";
                Report(LocationInfo.From(assignment), value!, where);
            }

            void InspectDelegates(ArgumentListSyntax arguments, SemanticModel model, string runner)
            {
                foreach (ArgumentSyntax argument in arguments.Arguments)
                {
                    if (argument.Expression is not AnonymousFunctionExpressionSyntax function)
                    {
                        continue;
                    }

                    foreach (IdentifierNameSyntax identifier in function.DescendantNodes().OfType<IdentifierNameSyntax>())
                    {
                        ITypeSymbol? used = model.GetSymbolInfo(identifier, cancellationToken).Symbol switch
                        {
                            IParameterSymbol p when !function.Span.Contains(p.Locations.Length > 0 ? p.Locations[0].SourceSpan : default) => p.Type,
                            ILocalSymbol l when !function.Span.Contains(l.Locations.Length > 0 ? l.Locations[0].SourceSpan : default) => l.Type,
                            IFieldSymbol f => f.Type,
                            IPropertySymbol p => p.Type,
                            _ => null,
                        };
                        if (Keeps(used))
                        {
                            Report(LocationInfo.From(function), used!, "in a delegate given to " + runner);
                            break;
                        }
                    }
                }
            }

            void Report(LocationInfo? at, ITypeSymbol kept, string where)
                => diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ContextKept, at, typeName, KeptName(kept) ?? kept.Name, where));

            bool Keeps(ITypeSymbol? candidate) => KeptName(candidate) is not null;

            string? KeptName(ITypeSymbol? candidate) => candidate switch
            {
                null => null,
                _ when SymbolEqualityComparer.Default.Equals(candidate, known.Context) => "MilterContext",
                _ when SymbolEqualityComparer.Default.Equals(candidate, known.MessageEditor) => "MessageEditor",
                IArrayTypeSymbol array => KeptName(array.ElementType),
                INamedTypeSymbol { IsGenericType: true } generic => FirstKept(generic.TypeArguments),
                _ => null,
            };

            string? FirstKept(IEnumerable<ITypeSymbol> types)
            {
                foreach (ITypeSymbol t in types)
                {
                    if (KeptName(t) is { } name)
                    {
                        return name;
                    }
                }

                return null;
            }
        }

        /// <summary>Started and forgotten: the call is a statement of its own, or assigned to the discard.</summary>
        private static bool IsDiscarded(InvocationExpressionSyntax invocation)
        {
            SyntaxNode? parent = invocation.Parent;
            while (parent is ParenthesizedExpressionSyntax)
            {
                parent = parent.Parent;
            }

            return parent is ExpressionStatementSyntax
                || (parent is AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" } } discard
                    && discard.IsKind(SyntaxKind.SimpleAssignmentExpression));
        }

        /// <summary>Task.Run, TaskFactory.StartNew, ThreadPool.QueueUserWorkItem and its unsafe twin: they run a delegate later.</summary>
        private static bool IsDeferring(IMethodSymbol method)
        {
            INamedTypeSymbol? owner = method.ContainingType;
            return method.Name switch
            {
                "Run" => IsNamed(owner, "System.Threading.Tasks.Task"),
                "StartNew" => IsNamed(owner?.OriginalDefinition, "System.Threading.Tasks.TaskFactory")
                    || IsNamed(owner?.OriginalDefinition, "System.Threading.Tasks.TaskFactory<TResult>"),
                "QueueUserWorkItem" or "UnsafeQueueUserWorkItem" => IsNamed(owner, "System.Threading.ThreadPool"),
                _ => false,
            };
        }
    }
}
